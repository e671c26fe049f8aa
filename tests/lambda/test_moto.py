"""The `aws` platform against moto's Lambda server, a real and independent
control plane: notebooks through nbclient and the CLI deploy, update and
reconfigure, and boto3 checks afterwards what moto holds (code hash,
memory, architecture, handler, role). moto cannot run code without Docker,
so invocations that must run code are in test_standin.py."""
import json
import re
import time

from conftest import ROLE, SECRET_KEY, aws_line, cell_for, outputs_text, tool

def state(workspace, name):
    return json.loads((workspace.folder / ".faaset" / "state" / "aws" / f"{name}.json").read_text())


def control_ops(workspace, name):
    return [e["op"] for e in workspace.trace.entries() if e["function"] == name and e["op"] != "invoke"]


def test_deploy_update_and_reconfigure_from_a_notebook(aws_workspace, moto):
    workspace = aws_workspace.use(moto)
    first = cell_for("greet", options="memory=256 arch=arm64")
    cells = workspace.run("%platform aws", first, first, first.replace("memory=256", "memory=512"),
                          first.replace("memory=256", "memory=512").replace('"hi"', '"hello"'), "%functions")
    platform, deployed, unchanged, reconfigured, recoded, listing = cells
    assert re.search(r"greet\s+aws\s+[0-9a-f]{8}\s+[0-9a-f]{8}\s+512 MB\s+30 s\s+arm64\s+python3\.\d+", listing.ok().stdout + str(
        [o.get("data", {}).get("text/plain", "") for o in listing.outputs])), listing
    shown = platform.ok().stdout + "".join(str(o.get("data", "")) for o in platform.outputs)
    assert "aws" in shown and "AKIA...0001" in shown, platform
    assert SECRET_KEY not in outputs_text(cells)
    assert aws_line(deployed)["verb"] == "deployed"
    assert aws_line(unchanged)["verb"] == "up to date"
    assert aws_line(reconfigured)["verb"] == "updated configuration of"
    assert aws_line(recoded)["verb"] == "updated code of"
    assert control_ops(workspace, "greet") == ["deploy", "configure", "deploy"], workspace.trace.entries()

    remote = tool(moto, "get", "greet")["Configuration"]
    assert remote["MemorySize"] == 512 and remote["Architectures"] == ["arm64"], remote
    assert remote["Handler"] == "faaset_handler.lambda_handler" and remote["Runtime"] == "python3.12", remote
    assert remote["Role"] == ROLE and remote["Timeout"] == 30, remote
    assert remote["CodeSha256"] == state(workspace, "greet")["package_sha256"], "moto holds other bytes than we sent"

    # A new kernel checks an unchanged function once with the platform, then never again.
    mark = workspace.trace.mark()
    last = first.replace("memory=256", "memory=512").replace('"hi"', '"hello"')
    again, once_more = workspace.run(last, last)
    assert aws_line(again)["verb"] == "up to date" and aws_line(once_more)["verb"] == "up to date"
    assert [e["op"] for e in workspace.trace.since(mark)] == ["verify"], workspace.trace.since(mark)
    assert tool(moto, "get", "greet")["Configuration"]["CodeSha256"] == remote["CodeSha256"]

    deleted, again = workspace.run("%delete greet", "%delete greet aws")
    assert deleted.ok().stdout.startswith("aws: deleted greet in "), deleted
    assert "ResourceNotFoundException" in tool(moto, "get", "greet", check=False).stderr
    assert again.error.ename == "ResourceNotFoundException" and "Function not found" in again.error.evalue, again
    assert not (workspace.folder / ".faaset" / "state" / "aws" / "greet.json").exists()


def test_an_existing_function_takes_the_update_path(aws_workspace, moto):
    workspace = aws_workspace.use(moto)
    tool(moto, "create", "existing", ROLE)
    before = tool(moto, "get", "existing")["Configuration"]
    (cell,) = workspace.run(cell_for("existing"))
    assert aws_line(cell)["verb"] == "updated code of", cell
    after = tool(moto, "get", "existing")["Configuration"]
    assert after["CodeSha256"] != before["CodeSha256"]
    assert after["CodeSha256"] == state(workspace, "existing")["package_sha256"]
    assert after["Handler"] == "faaset_handler.lambda_handler" and after["MemorySize"] == 256, after


def test_changes_made_outside_the_notebook_are_reported_and_repaired(aws_workspace, moto):
    workspace = aws_workspace.use(moto)
    source = cell_for("drifty")
    (cell,) = workspace.run(source)
    assert aws_line(cell)["verb"] == "deployed"
    ours = state(workspace, "drifty")["package_sha256"]

    tool(moto, "put-code", "drifty")
    assert tool(moto, "get", "drifty")["Configuration"]["CodeSha256"] != ours
    (cell,) = workspace.run(source)
    line = aws_line(cell)
    assert line["verb"] == "redeployed", cell
    assert "changed outside the notebook" in line["note"] and "CodeSha256" in line["note"], cell
    assert tool(moto, "get", "drifty")["Configuration"]["CodeSha256"] == ours

    tool(moto, "delete", "drifty")
    (cell,) = workspace.run(source)
    line = aws_line(cell)
    assert line["verb"] == "deployed" and "deleted outside the notebook" in line["note"], cell
    assert tool(moto, "get", "drifty")["Configuration"]["CodeSha256"] == ours

    # Only the configuration changed in the cell, but the code outside: both are put right, and said.
    tool(moto, "put-code", "drifty")
    (cell,) = workspace.run(source.replace("memory=256", "memory=512"))
    line = aws_line(cell)
    assert line["verb"] == "updated code of" and "changed outside the notebook" in line["note"], cell
    remote = tool(moto, "get", "drifty")["Configuration"]
    assert remote["CodeSha256"] == ours and remote["MemorySize"] == 512, remote


def test_the_role_follows_the_cell_and_a_role_changed_outside_is_repaired(aws_workspace, moto):
    workspace = aws_workspace.use(moto)
    other = tool(moto, "create-role", "faaset-tests-other")
    source = cell_for("roled", options=f"memory=256 role={ROLE}")
    moved = source.replace(ROLE, other)
    deployed, changed, unchanged = workspace.run(source, moved, moved)
    assert aws_line(deployed)["verb"] == "deployed", deployed
    assert aws_line(changed)["verb"] == "updated configuration of", changed
    assert aws_line(unchanged)["verb"] == "up to date", unchanged
    assert tool(moto, "get", "roled")["Configuration"]["Role"] == other
    assert control_ops(workspace, "roled") == ["deploy", "configure"], workspace.trace.entries()

    # A new kernel checks the unchanged cell once: the role set outside is noticed and put back.
    tool(moto, "set-role", "roled", ROLE)
    (checked,) = workspace.run(moved)
    line = aws_line(checked)
    assert line["verb"] == "redeployed", checked
    assert "changed outside the notebook: its role is " + ROLE in line["note"], checked
    assert tool(moto, "get", "roled")["Configuration"]["Role"] == other


def test_missing_functions_and_links(aws_workspace, moto):
    workspace = aws_workspace.use(moto)
    tool(moto, "create", "made-elsewhere", ROLE)
    _, missing, linked, event, by_arn, gone = workspace.run(
        "%platform aws",
        "%invoke nosuch {}",
        "%%cloud_function platforms=aws deploy=false remote=made-elsewhere\n"
        "def elsewhere(request, context):\n    pass",
        "print(elsewhere.invoke({'x': 1}, event=True))",
        "%%cloud_function platforms=aws deploy=false "
        "remote=arn:aws:lambda:us-east-1:123456789012:function:made-elsewhere\n"
        "def by_arn(request, context):\n    pass\nprint(by_arn.invoke({}, event=True))",
        "%%cloud_function platforms=aws deploy=false remote=no-such-function\n"
        "def gone(request, context):\n    pass\ngone({})",
    )
    error = missing.error
    assert error.ename == "ResourceNotFoundException", missing
    assert "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nosuch" in error.evalue, missing
    assert aws_line(linked)["verb"] == "linked"
    assert "'StatusCode': 202" in event.ok().stdout, event
    assert aws_line(by_arn)["verb"] == "linked" and "'StatusCode': 202" in by_arn.stdout, by_arn
    assert gone.error.ename == "ResourceNotFoundException" and "no-such-function" in gone.error.evalue, gone
    assert control_ops(workspace, "elsewhere") == [] and control_ops(workspace, "gone") == []


def test_the_command_line(aws_workspace, moto):
    workspace = aws_workspace.use(moto)
    (workspace.folder / "adder.py").write_text("def adder(request, context):\n    return request['a'] + 1\n")
    first = workspace.cli("deploy", "adder.py", "--platform", "aws", "--memory", "1024", "--arch", "arm64")
    assert first.returncode == 0 and first.stdout.startswith("aws: deployed adder"), first
    second = workspace.cli("deploy", "adder.py", "--platform", "aws", "--memory", "1024", "--arch", "arm64")
    assert second.returncode == 0 and second.stdout.startswith("aws: up to date adder"), second
    remote = tool(moto, "get", "adder")["Configuration"]
    assert remote["MemorySize"] == 1024 and remote["Architectures"] == ["arm64"], remote
    deleted = workspace.cli("delete", "adder", "--platform", "aws")
    assert deleted.returncode == 0 and deleted.stdout.startswith("aws: deleted adder"), deleted
    assert tool(moto, "get", "adder", check=False).returncode != 0
    missing = workspace.cli("invoke", "nothing-here", "{}", "--platform", "aws")
    assert missing.returncode != 0 and "Function not found" in missing.stderr, missing
    for result in (first, second, deleted, missing):
        assert SECRET_KEY not in result.stdout + result.stderr


def test_container_images(aws_workspace, moto):
    workspace = aws_workspace.use(moto)
    (workspace.folder / "boxed.py").write_text("def boxed(request, context):\n    return 1\n")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/boxed:"
    first = workspace.cli("deploy", "boxed.py", "--platform", "aws", "--image", image + "v1")
    assert first.returncode == 0 and first.stdout.startswith("aws: deployed boxed"), first
    second = workspace.cli("deploy", "boxed.py", "--platform", "aws", "--image", image + "v2")
    assert second.returncode == 0 and second.stdout.startswith("aws: updated code of boxed"), second
    remote = tool(moto, "get", "boxed")
    assert remote["Configuration"]["PackageType"] == "Image" and remote["Code"]["ImageUri"] == image + "v2", remote
    as_zip = workspace.cli("deploy", "boxed.py", "--platform", "aws")
    assert as_zip.returncode != 0 and "container image function" in as_zip.stderr, as_zip


def test_errors_come_before_any_call(aws_workspace, moto):
    workspace = aws_workspace.use(moto)
    del workspace.env["FAASET_AWS_ROLE"]
    big_env = "env=" + ";".join(f"K{i}={'v' * 100}" for i in range(45))
    no_role, bad_role, too_big = workspace.run(cell_for("norole"), "%platform aws role=someone",
                                               cell_for("toobig", options=big_env))
    assert "%platform aws role=arn:aws:iam::" in no_role.error.evalue, no_role
    assert bad_role.error.evalue.startswith("role must be an IAM role ARN"), bad_role
    assert "4 KB" in too_big.error.evalue, too_big
    for name in ("norole", "toobig"):
        assert tool(moto, "get", name, check=False).returncode != 0, f"{name} was created"
    mark = workspace.trace.mark()
    (large,) = workspace.run("%%cloud_function platforms=aws deploy=false remote=anything\n"
                             "def large(request, context):\n    pass\nlarge({'x': 'a' * 7000000})")
    assert large.error.ename == "RequestTooLargeException" and "6291456" in large.error.evalue, large
    assert [e["op"] for e in workspace.trace.since(mark)] == ["invoke"]  # refused by the adapter, before sending


def test_no_credentials_says_where_it_looked(aws_workspace, moto):
    workspace = aws_workspace.use(moto)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        del workspace.env[key]
    workspace.env["HOME"] = str(workspace.folder)
    platform, cell, mixed = workspace.run("%platform aws", cell_for("nokeys"),
                                          cell_for("mixed").replace("platforms=aws", "platforms=local,aws"))
    for text in (platform.error.evalue, cell.error.evalue, mixed.error.evalue):
        assert "AWS_ACCESS_KEY_ID" in text and "credentials" in text, text
    assert tool(moto, "get", "nokeys", check=False).returncode != 0
    assert workspace.trace.entries() == [], "a cell that cannot reach aws deployed elsewhere"


def test_an_endpoint_set_in_the_notebook(aws_workspace, moto):
    workspace = aws_workspace.use(moto)
    del workspace.env["AWS_ENDPOINT_URL"]
    platform, cell = workspace.run(f"%platform aws endpoint={moto} region=us-east-1", cell_for("pointed"))
    assert f"endpoint {moto}" in platform.ok().stdout + repr(platform), platform
    assert aws_line(cell)["verb"] == "deployed"
    assert tool(moto, "get", "pointed")["Configuration"]["FunctionName"] == "pointed"


def test_an_unreachable_endpoint_is_a_clear_error_soon(aws_workspace):
    workspace = aws_workspace.use("http://127.0.0.1:9")
    started = time.monotonic()
    (cell,) = workspace.run(cell_for("nowhere"))
    elapsed = time.monotonic() - started
    assert "no answer from http://127.0.0.1:9" in cell.error.evalue and "refused" in cell.error.evalue, cell
    # "soon": the kernel's start and four backed-off retries (about 4 s) take
    # some 5-8 s; 40 s is room for ASan on a loaded 2-core machine, and still
    # fails a kernel that keeps retrying or waits out a long timeout
    assert elapsed < 40, f"giving up took {elapsed:.1f} s"
