"""containerize=True on the `aws` platform: the kernel builds the cell's
image, pushes it to a registry and deploys it to the strict Lambda
stand-in (which, like Lambda, takes only ECR image URIs, so the registry is
named by an ECR host name and reached through a proxy: Debian's
docker-registry itself, which serves requests written in absolute form).
The pushed image is read back with skopeo; the deployed function's
ImageUri is the pushed digest; a second kernel on the same cell pushes no
blob; a code change pushes one small layer and the config; the ECR
repository is created and ECR's token fetched through moto's ECR API; the
command line does the same; and a stand-in given the registry pulls the
image and runs its handler for real, dependencies from the image."""
import json
import re

import pytest
from conftest import aws_line, start_standin, tool

import oci_registry
from wheels import wheelhouse

ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
# moto's ECR answers GetAuthorizationToken with user AWS and this password: the registry accepts it too
ECR_TOKEN_PASSWORD = "123456789012-auth-token"

CELL = '''%%cloud_function platforms=aws memory=256 containerize=true registry=http://{host}/team image_base=http://{host}/base/tiny:1
def boxed(request, context):
    return {{"hi": request["name"]{extra}}}'''


@pytest.fixture(scope="module")
def standin(logs_dir):
    server = start_standin(logs_dir, "--pending-seconds", "0.3", "--update-seconds", "0.3")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry")
    running = oci_registry.Registry(folder / "server", extra_users=[("AWS", ECR_TOKEN_PASSWORD)])
    try:
        running.push_layout(oci_registry.tiny_base_image(folder / "base"), "base/tiny:1")
        yield running
    finally:
        running.stop()


def use_registry(workspace, registry, moto):
    """The kernel reaches ECR_HOST through the registry as its proxy, with Docker credentials for it, and
    ECR's API (CreateRepository, GetAuthorizationToken) at moto."""
    docker = oci_registry.docker_config(workspace.folder.parent / "docker", ECR_HOST)
    workspace.env.update({"DOCKER_CONFIG": str(docker), "http_proxy": f"http://{registry.host}",
                          "no_proxy": "127.0.0.1,localhost", "AWS_ENDPOINT_URL_ECR": moto})


def test_containerize_builds_pushes_and_deploys_by_digest(aws_workspace, standin, registry, moto):
    workspace = aws_workspace.use(standin.url)
    use_registry(workspace, registry, moto)
    mark = registry.log_mark()
    [first] = workspace.run(CELL.format(host=ECR_HOST, extra=""))
    line = aws_line(first.ok())
    assert line["verb"] == "deployed", first
    pushed = re.search(r"image (sha256:[0-9a-f]{12}) pushed: (\d+) bytes in 2 blobs, 1 already there or mounted "
                       r"\(its ECR repository created\)", first.stdout)
    assert pushed, first
    first_bytes = int(pushed.group(2))
    assert len(registry.blob_uploads_since(mark)) == 2  # the code layer and the config; the base layer mounted
    # no zip was built for it: the state records none sent
    record = json.loads((workspace.folder / ".faaset" / "state" / "aws" / "boxed.json").read_text())
    assert "package_sha256" not in record, record

    remote = tool(standin.url, "get", "boxed")
    uri = remote["Code"]["ImageUri"]
    assert remote["Configuration"]["PackageType"] == "Image", remote
    assert re.fullmatch(ECR_HOST + r"/team/faaset-boxed@sha256:[0-9a-f]{64}", uri), uri
    digest = uri.split("@")[1]
    assert digest.startswith(pushed.group(1))
    tags = json.loads(registry.skopeo("list-tags", *registry.credentials_args(),
                                      f"docker://{registry.host}/team/faaset-boxed"))["Tags"]
    assert len(tags) == 1 and re.fullmatch(r"[0-9a-f]{12}", tags[0]), tags
    raw, manifest = registry.inspect_raw(f"team/faaset-boxed@{digest}")
    assert len(manifest["layers"]) == 2
    config = registry.inspect_config(f"team/faaset-boxed@{digest}")
    assert config["config"]["Cmd"] == ["faaset_handler.handle"]
    assert config["config"]["Labels"]["org.opencontainers.image.title"] == "boxed"

    # A new kernel on the same cell checks the function: the image is pushed again, sending nothing.
    mark = registry.log_mark()
    [again] = workspace.run(CELL.format(host=ECR_HOST, extra=""))
    assert aws_line(again.ok())["verb"] == "up to date", again
    assert re.search(r"pushed: 0 bytes in 0 blobs, 3 already there$", again.stdout, re.M), again  # repository kept
    assert registry.blob_uploads_since(mark) == []
    assert tool(standin.url, "get", "boxed")["Code"]["ImageUri"] == uri

    # A code change: one small layer and the config.
    mark = registry.log_mark()
    [changed] = workspace.run(CELL.format(host=ECR_HOST, extra=', "v": 2'))
    assert aws_line(changed.ok())["verb"] == "updated code of", changed
    sent = re.search(r"pushed: (\d+) bytes in 2 blobs, 1 already there", changed.stdout)
    assert sent and len(registry.blob_uploads_since(mark)) == 2, changed
    assert tool(standin.url, "get", "boxed")["Code"]["ImageUri"] != uri
    print(f"first push {first_bytes} bytes, after a code change {sent.group(1)} bytes")
    for path in workspace.written_files():
        assert oci_registry.PASSWORD not in path.read_text(errors="replace"), f"the registry password is in {path}"


def test_containerize_needs_an_ecr_registry(aws_workspace, standin, registry, moto):
    workspace = aws_workspace.use(standin.url)
    use_registry(workspace, registry, moto)
    refused, not_ecr = workspace.run(
        "%%cloud_function platforms=aws containerize=true\ndef nowhere(request, context):\n    return {}",
        f"%%cloud_function platforms=aws containerize=true registry={registry.host}\n"
        "def elsewhere(request, context):\n    return {}")
    # no registry: the account's own, but STS (AWS_ENDPOINT_URL sends it to the Lambda stand-in, which refuses a
    # call signed for sts) cannot say which account that is
    assert ("containerize=True without registry= pushes to the account's ECR registry, but STS did not say which "
            "account the AWS credentials are (GetCallerIdentity: InvalidSignatureException:" in refused.error.evalue), refused
    assert "give registry=ACCOUNT.dkr.ecr.REGION.amazonaws.com" in refused.error.evalue, refused
    assert (f"Lambda runs container images only from Amazon ECR: registry={registry.host} is not an ECR registry"
            in not_ecr.error.evalue), not_ecr


def test_without_a_registry_the_accounts_ecr_registry_is_used(aws_workspace, standin, registry, moto, logs_dir):
    """No registry= anywhere: STS's GetCallerIdentity (moto's) names the account, asked once for two cells; the
    image goes to ACCOUNT.dkr.ecr.REGION.amazonaws.com/faaset-NAME (reached directly over https, which has no
    server here, so the push fails naming it after ECR's repository and token came from moto)."""
    workspace = aws_workspace.use(standin.url)
    use_registry(workspace, registry, moto)
    workspace.env["AWS_ENDPOINT_URL_STS"] = moto
    moto_log = logs_dir / "moto.log"
    calls_before = moto_log.read_text().count('"POST / HTTP/1.1"')
    cells = [f"%%cloud_function platforms=aws containerize=true image_base=http://{ECR_HOST}/base/tiny:1\n"
             f"def {name}(request, context):\n    return {{}}" for name in ("own_one", "own_two")]
    one, two = workspace.run(*cells)
    for cell, name in ((one, "own-one"), (two, "own-two")):
        assert cell.error.evalue.startswith(f"aws: deploying {name.replace('-', '_')} failed: NetworkError: building "
                                            f"the image: the registry {ECR_HOST} cannot be reached"), cell
        assert f" in faaset-{name} (" in cell.error.evalue, cell
    # GetCallerIdentity once (kept for the settings), CreateRepository for each (Docker credentials: no token)
    assert moto_log.read_text().count('"POST / HTTP/1.1"') == calls_before + 3


def test_an_ecr_registry_without_docker_credentials_gets_ecrs_token_once(aws_workspace, standin, registry, moto,
                                                                       logs_dir):
    """No Docker credentials: ECR's GetAuthorizationToken (moto's ECR here, signed like every AWS call) gives
    the registry's password, kept for the kernel's life."""
    workspace = aws_workspace.use(standin.url)
    workspace.env.update({"http_proxy": f"http://{registry.host}", "no_proxy": "127.0.0.1,localhost",
                          "AWS_ENDPOINT_URL_ECR": moto})
    workspace.env.pop("DOCKER_CONFIG", None)
    moto_log = logs_dir / "moto.log"
    calls_before = moto_log.read_text().count('"POST / HTTP/1.1"')
    # the registry as a platform setting this time
    setting = f"%platform aws registry=http://{ECR_HOST}/team"
    cell = (CELL.format(host=ECR_HOST, extra=', "ecr": True').replace("def boxed", "def ecr_boxed")
            .replace(f" registry=http://{ECR_HOST}/team", ""))
    _, first, forced = workspace.run(setting, cell, cell.replace("containerize=true", "containerize=true force=true"))
    assert aws_line(first.ok())["verb"] == "deployed", first
    assert tool(standin.url, "get", "ecr_boxed")["Code"]["ImageUri"].startswith(ECR_HOST + "/team/faaset-ecr-boxed@")
    assert aws_line(forced.ok())["verb"] == "up to date", forced
    # each push asks CreateRepository (the second finds it there); one token serves both pushes: 3 calls, not 4
    assert moto_log.read_text().count('"POST / HTTP/1.1"') == calls_before + 3
    assert ECR_TOKEN_PASSWORD not in "".join(path.read_text(errors="replace") for path in workspace.written_files())


def test_changing_the_platforms_registry_alone_redeploys(aws_workspace, standin, registry, moto):
    """`%platform aws registry=` is part of what the deploy decision compares: the same cell after it changes
    is pushed to the new place and redeployed from there; the same setting again leaves it up to date."""
    workspace = aws_workspace.use(standin.url)
    use_registry(workspace, registry, moto)
    cell = (CELL.format(host=ECR_HOST, extra="").replace("def boxed", "def moved")
            .replace(f" registry=http://{ECR_HOST}/team", ""))
    _, first, _, moved, again = workspace.run(f"%platform aws registry=http://{ECR_HOST}/team", cell,
                                              f"%platform aws registry=http://{ECR_HOST}/elsewhere", cell, cell)
    assert aws_line(first.ok())["verb"] == "deployed", first
    assert aws_line(moved.ok())["verb"] == "updated code of", moved
    assert tool(standin.url, "get", "moved")["Code"]["ImageUri"].startswith(ECR_HOST + "/elsewhere/faaset-moved@")
    assert aws_line(again.ok())["verb"] == "up to date", again


def test_a_slow_credential_helper_runs_while_the_kernel_answers(aws_workspace, standin, registry, moto):
    """A credential helper (`docker-credential-NAME get`, here one that takes 3 s) runs on the kernel's loop:
    the kernel answers a kernel_info_request on the control channel while it works, then pushes with what the
    helper said."""
    import os
    import pathlib
    import time
    import types

    from faaset_testing import DirectKernel, cell_python

    workspace = aws_workspace.use(standin.url)
    use_registry(workspace, registry, moto)
    tools = workspace.folder.parent / "slow-helper"
    (tools / "docker").mkdir(parents=True, exist_ok=True)
    helper = tools / "docker-credential-faasetslow"
    helper.write_text("#!/bin/sh\nread host\nsleep 3\n"
                      f"echo '{{\"Username\":\"{oci_registry.USER}\",\"Secret\":\"{oci_registry.PASSWORD}\"}}'\n")
    helper.chmod(0o700)
    (tools / "docker" / "config.json").write_text(json.dumps({"credHelpers": {ECR_HOST: "faasetslow"}}))
    workspace.env.update({"DOCKER_CONFIG": str(tools / "docker"), "PATH": f"{tools}:{os.environ['PATH']}"})
    kernel = DirectKernel(types.SimpleNamespace(env=workspace.env, dir=workspace.folder, python=cell_python()))
    try:
        msg_id = kernel.client.execute(CELL.format(host=ECR_HOST, extra="").replace("def boxed", "def helped"))
        deadline = time.monotonic() + 30
        running = []
        while not running and time.monotonic() < deadline:
            running = [pid for pid in os.listdir("/proc") if pid.isdigit()
                       and b"docker-credential-faasetslow" in _cmdline(pid)]
            time.sleep(0.05)
        assert running, "the credential helper never ran"
        info = kernel.client.session.msg("kernel_info_request", {})
        kernel.client.control_channel.send(info)
        reply = kernel.client.get_control_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == info["header"]["msg_id"] and reply["content"]["status"] == "ok"
        assert all(pathlib.Path(f"/proc/{pid}").exists() for pid in running), "answered only after the helper ended"
        content, outputs = kernel.collect(msg_id, timeout=120)
        assert content["status"] == "ok", (content, outputs)
        printed = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        assert re.search(r"aws: deployed helped \(", printed), printed
    finally:
        kernel.stop()
    for path in workspace.written_files():
        assert oci_registry.PASSWORD not in path.read_text(errors="replace"), f"the registry password is in {path}"


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def test_the_command_line_deploy_builds_the_image_too(aws_workspace, standin, registry, moto):
    workspace = aws_workspace.use(standin.url)
    use_registry(workspace, registry, moto)
    (workspace.folder / "clibox.py").write_text("def clibox(request, context):\n    return {'cli': True}\n")
    args = ["deploy", "clibox.py", "--platform", "aws", "--containerize", "true", "--registry",
            f"http://{ECR_HOST}/team", "--image_base", f"http://{ECR_HOST}/base/tiny:1"]
    first = workspace.cli(*args)
    assert first.returncode == 0 and first.stdout.startswith("aws: deployed clibox"), first
    assert oci_registry.PASSWORD not in first.stdout + first.stderr
    assert re.search(r"image sha256:[0-9a-f]{12} pushed: \d+ bytes in 2 blobs", first.stdout), first
    uri = tool(standin.url, "get", "clibox")["Code"]["ImageUri"]
    assert uri.startswith(ECR_HOST + "/team/faaset-clibox@sha256:"), uri
    again = workspace.cli(*args)
    assert again.returncode == 0 and "pushed: 0 bytes in 0 blobs" in again.stdout, again


def test_the_stand_in_runs_the_pushed_image(aws_workspace, logs_dir, registry, moto, tmp_path):
    """The stand-in pulls the image as Lambda does (--image-registry) and runs its Cmd from its WorkingDir
    with its PYTHONPATH: the image's own faaset_handler, SAAF and the cell's code, and its dependency layer
    (requirements installed for Lambda x86_64 from the test's wheels, inside the image: no Lambda layer)."""
    server = start_standin(logs_dir, "--pending-seconds", "0.3", "--update-seconds", "0.3", "--image-registry",
                           f"{ECR_HOST}=http://{registry.host}", "--image-credentials",
                           f"{oci_registry.USER}:{oci_registry.PASSWORD}")
    try:
        workspace = aws_workspace.use(server.url)
        use_registry(workspace, registry, moto)
        wheelhouse(tmp_path / "wheels")
        workspace.env.update({"PIP_FIND_LINKS": str(tmp_path / "wheels"), "PIP_NO_INDEX": "1",
                              "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        cell = ('%%cloud_function platforms=aws memory=256 containerize=true registry=http://{host}/team '
                'image_base=http://{host}/base/tiny:1 requirements="greetlib==1.0"\n'
                'import greetlib\n'
                'import native_probe\n\n'
                'def runner(request, context):\n'
                '    import os\n'
                '    from SAAF import Inspector\n'
                '    inspector = Inspector()\n'
                '    inspector.inspectContainer()\n'
                '    inspector.addAttribute("message", greetlib.greet(request["name"]))\n'
                '    inspector.addAttribute("machine", native_probe.MACHINE)\n'
                '    inspector.addAttribute("cwd", os.path.basename(os.getcwd()))\n'
                '    inspector.addAttribute("handler", os.environ["_HANDLER"])\n'
                '    return inspector.finish()').format(host=ECR_HOST)
        deployed, called = workspace.run(cell, 'import json\nanswer = runner({"name": "Ada"})\n'
                                               'print(json.dumps([answer["message"], answer["machine"], answer["cwd"], '
                                               'answer["handler"], answer["newcontainer"]]))')
        line = aws_line(deployed.ok())
        assert line["verb"] == "deployed" and "in 3 blobs" in deployed.stdout, deployed  # deps, code, config
        assert "dependencies: installed greetlib 1.0, native_probe 2.0" in deployed.stdout, deployed
        assert called.ok().json() == ["Hello Ada", "x86_64", "function", "faaset_handler.handle", 1], called
        assert "Layers" not in tool(server.url, "get", "runner")["Configuration"]
        [missing] = workspace.run(f"%%cloud_function platforms=aws image={ECR_HOST}/team/absent:1\n"
                                  "def absent(request, context):\n    return {}")
        assert missing.error.evalue == (f"aws: deploying absent failed: InvalidParameterValueException: CreateFunction "
                                        f"absent: Source image {ECR_HOST}/team/absent:1 does not exist. Provide a "
                                        "valid source image."), missing
    finally:
        server.stop()
