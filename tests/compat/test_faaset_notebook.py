"""Today's FaaSET notebook API (`import FaaSET`, `FaaSRunner`, `FaaSETUI`:
SAAF's juypter_template), through nbclient on the local platform: a
notebook in the template's style defines, calls, manages and experiments
with a function, a second kernel calls it without defining it, and the
platforms faaset cannot deploy to yet say what to use instead.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/compat/test_faaset_notebook.py
"""
import json
import re

IMPORTS = "import FaaSET\nimport FaaSETUI\nimport FaaSRunner"

CONFIG = '''function_config = {
    "role": "arn:aws:iam::123456789012:role/faaset-tests",
    "memory": 256,
    "timeout": 60,
    "profile": "personal",
    "subnets": "",
    "handler": "lambda_function.lambda_handler"
}'''

HELLO = '''@FaaSET.cloud_function(platform="local", config=function_config)
def hello_world(request, context):
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectAll()
    inspector.addAttribute("message", "Hello from the cloud " + str(request["name"]) + "!")
    inspector.inspectAllDeltas()
    return inspector.finish()

FaaSETUI.UI(hello_world)

hello_world({"name": "Steve"})["message"]'''

MANAGE = '''import json
FaaSET.deploy(hello_world, platform="local")
FaaSET.duplicate(hello_world, source_platform="local", new_name="local-big")
FaaSET.reconfigure(hello_world, platform="local-big", override_config={"memory": 512})
answer = FaaSET.test(hello_world, payload={"name": "Bob"}, platform="local-big", tags={"trial": "big"}, quiet=True)
original = FaaSET.test(hello_world, payload={"name": "Al"}, platform="local", quiet=True, outPath=None)
print(json.dumps([answer["message"], answer["functionMemory"], answer["payload"], answer["trial"],
                  answer["latency"] == round(answer["roundTripTime"] - int(answer["runtime"]), 2),
                  original["functionMemory"]]))'''

EXPERIMENT = '''results = FaaSRunner.experiment(hello_world,
                      threads=3,
                      runs_per_thread=2,
                      payloads=[{"name": "Steve"}, {"name": "Ann"}],
                      tags={"batch": 1})

rows = results.to_dict("records") if hasattr(results, "to_dict") else results
print(json.dumps(sorted((row["threadID"], row["runID"], row["batch"]) for row in rows)))'''

LOAD = '''loaded = FaaSRunner.load(hello_world, "default", tags={"again": True})
rows = loaded.to_dict("records") if hasattr(loaded, "to_dict") else loaded
print(json.dumps([len(rows), sorted(set(row["message"] for row in rows)), all(row["again"] for row in rows)]))'''

CLEAR = 'FaaSET.clear(hello_world, platform="local-big")'

DOCKER = '''@FaaSET.cloud_function(platform="AWS Docker", config={"memory": 1024})
def boxed(request, context):
    return {}'''

DOCKER_ARM = '''@FaaSET.cloud_function(platform="aws_docker_arm", config={"memory": 1024})
def boxed(request, context):
    return {}'''

IBM = '''@FaaSET.cloud_function(platform="ibm", config={"memory": 512, "timeout": 300000})
def blue(request, context):
    return {}'''

UNKNOWN = '''@FaaSET.cloud_function(platform="mars")
def far(request, context):
    return {}'''


def test_the_template_notebook_runs_on_the_local_platform(workspace):
    cells = workspace.run(IMPORTS, CONFIG, HELLO, MANAGE, EXPERIMENT, LOAD, CLEAR, DOCKER, DOCKER_ARM, IBM, UNKNOWN)
    imports, config, hello, manage, experiment, load, clear, docker, docker_arm, ibm, unknown = cells
    assert "FaaSET on the faaset kernel" in imports.ok().stdout, imports
    config.ok()
    out = hello.ok().stdout
    assert re.search(r"^local: deployed hello_world \([0-9a-f]{8}\) in ", out, re.M), hello
    assert "'profile' is a platform setting here" in out and "%platform local profile=personal" in out, hello
    assert "'handler' has no meaning" in out and "subnets" not in out, hello
    assert hello.result == "'Hello from the cloud Steve!'", hello
    # nbclient answers no widget version check: FaaSETUI's panel is the table (tests/compat/test_faaset_ui.py
    # drives the widgets)
    assert "FaaSETUI: no widget frontend answered ipywidgets" in out, hello
    panel = [o for o in hello.displays if "text/html" in o.data]
    assert panel and "hello_world" in panel[0].data["text/html"] and "256" in panel[0].data["text/html"], hello

    out = manage.ok().stdout
    assert re.search(r"^local: (deployed|updated code of) hello_world ", out, re.M), manage  # forced
    # the duplicate is a deployment of its own, as FaaSET's copied platform folder is: reconfiguring it leaves
    # hello_world as it was
    assert re.search(r"^local: deployed hello_world_local_big ", out, re.M), manage
    assert "'local-big' is hello_world's copy on local, deployed as its own function hello_world_local_big" in out
    assert re.search(r"^local: updated configuration of hello_world_local_big ", out, re.M), manage
    assert not re.search(r"^local: updated configuration of hello_world ", out, re.M), manage
    assert manage.json() == ["Hello from the cloud Bob!", "512", {"name": "Bob"}, "big", True, "256"], manage
    states = {p.name for p in (workspace.folder / ".faaset" / "state" / "local").iterdir()}
    assert {"hello_world.json", "hello_world_local_big.json"} <= states, states

    assert experiment.ok().json() == [[t, r, 1] for t in range(3) for r in range(2)], experiment
    experiments = workspace.folder / "functions" / "hello_world" / "experiments"
    assert len(list((experiments / "default").glob("*.json"))) == 8, list(experiments.rglob("*"))
    # 6 runs of the experiment, the call in HELLO and FaaSET.test: FaaSET's test() writes each answer there
    assert load.ok().json() == [8, ["Hello from the cloud Ann!", "Hello from the cloud Bob!",
                                    "Hello from the cloud Steve!"], True], load
    assert "forgot hello_world's settings for local-big" in clear.ok().stdout, clear
    assert "`%delete hello_world_local_big` deletes it" in clear.stdout, clear

    # the Docker platforms have the kernel build the image (containerize) for aws; this sandbox has no AWS
    # credentials, which the error says before anything is built
    for cell in (docker, docker_arm):
        assert cell.error.ename == "PlatformUnavailable" and "AWS" in cell.error.evalue, cell
    # the ibm platform exists; this sandbox has no OpenWhisk credentials, which its error says
    assert ibm.error.ename == "PlatformUnavailable" and "no OpenWhisk API host" in ibm.error.evalue, ibm
    assert unknown.error.ename == "CompatibilityError" and "unknown platform 'mars'" in unknown.error.evalue

    # A new kernel calls the function deployed from this folder without defining it again.
    again, = workspace.run('import FaaSET\nFaaSET.hello_world({"name": "Steve"})["message"]')
    assert "Deployed from this folder: hello_world" in again.ok().stdout, again
    assert again.result == "'Hello from the cloud Steve!'", again


def test_a_faaset_checkout_in_the_folder_is_not_used(workspace):
    (workspace.folder / "FaaSET.py").write_text("raise SystemExit('the checkout ran')\n")
    cell, = workspace.run("import FaaSET\nFaaSET.__file__")
    assert "FaaSET.py is not used" in cell.ok().stdout and cell.result == "'<faaset:faaset_compat_faaset>'", cell
