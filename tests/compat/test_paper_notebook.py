"""The FaaSET paper's notebook API (`from platforms.jupyter.interactive_helpers
import *`, SAAF's jupyter_workspace), through nbclient on the local platform:
a notebook written in that notebook's style deploys with config, packages
references, tests, runs an experiment and honours setDeploy and the run modes.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/compat/test_paper_notebook.py
"""
import json
import re

ROLE = "arn:aws:iam::123456789012:role/faaset-tests"

SETUP = f'''import os
import sys
sys.path.append(os.path.realpath('..'))
from platforms.jupyter.interactive_helpers import *

# What every function needs to deploy; region is a platform setting in faaset.
config = {{
    "lambdaRoleARN": "{ROLE}",
    "region": "us-east-1",
    "lambdaSubnets": "",
}}
setDeploy(True)'''

GREETER = '''@cloud_function(platforms=[Platform.LOCAL], memory=256, config=config)
def greeter(request, context):
    from Inspector import *
    inspector = Inspector()
    inspector.inspectPlatform()
    inspector.addAttribute("greeting", "Hello " + request["name"] + "!")
    return inspector.finish()'''

RELAY = '''def shout(text):
    return text.upper() + "!!"

@cloud_function(platforms=[Platform.LOCAL], memory=128, config=config, references=[greeter, "shout"])
def relay(request, context):
    inner = greeter(request, None)
    return {"relayed": shout(inner["greeting"]), "inner": inner["greeting"]}'''

TEST_RELAY = '''answer = test(function=relay, payload={"name": "Ada"}, config=config)
print(json.dumps(answer["relayed"]))'''

EXPERIMENT = '''greeter_experiment = {
  "payloads": [{"name": "Bob"}, {"name": "Eve"}],
  "runs": 6,
  "threads": 3,
  "iterations": 1
}
greeter_results = run_experiment(function=greeter, experiment=greeter_experiment, config=config,
                                 platform=Platform.LOCAL)
# a pandas DataFrame, as the paper's was (the rows where pandas is not installed)
rows = greeter_results.to_dict("records") if hasattr(greeter_results, "to_dict") else greeter_results
print(json.dumps(sorted(row["greeting"] for row in rows)))'''

RUN_MODES = '''@cloud_function(platforms=[Platform.LOCAL], runMode=RunMode.LOCAL)
def where(request, context):
    import os
    return {"platform": os.environ.get("FAASET_PLATFORM")}

@cloud_function(platforms=[Platform.LOCAL], runMode=RunMode.NONE)
def quiet(request, context):
    return {"ran": True}

cloud = test(function=where, payload={}, quiet=True, skipLocal=True)
print(json.dumps([where({}, None)["platform"], cloud["platform"], quiet({}, None)]))'''

NO_DEPLOY = '''setDeploy(False)

@cloud_function(platforms=[Platform.LOCAL])
def draft(request, context):
    return {"draft": request["n"] * 2}

print(json.dumps([draft({"n": 21}, None), test(function=draft, payload={"n": 1}, quiet=True)]))
setDeploy(True)'''

CONTAINER = '''@cloud_function(platforms=[Platform.AWS], memory=1024, containerize=True)
def boxed(request, context):
    return {}'''


def test_the_paper_notebook_runs_on_the_local_platform(workspace):
    cells = workspace.run(SETUP, GREETER, RELAY, TEST_RELAY, EXPERIMENT, RUN_MODES, NO_DEPLOY, CONTAINER)
    setup, greeter, relay, tested, experiment, modes, no_deploy, container = cells
    setup.ok()
    out = greeter.ok().stdout
    assert re.search(r"^local: deployed greeter \([0-9a-f]{8}\) in ", out, re.M), greeter
    assert "'region' is a platform setting here" in out and "%platform local region=us-east-1" in out, greeter
    assert "lambdaSubnets" not in out, greeter  # an empty value says nothing
    out = relay.ok().stdout
    assert re.search(r"^local: deployed relay ", out, re.M), relay
    assert "region" not in out, relay  # said once per kernel

    # The package holds greeter's and shout's source before relay's own.
    packaged = list((workspace.folder / ".faaset" / "local" / "relay" / "packages").glob("*/faaset_function.py"))
    assert len(packaged) == 1, packaged
    source = packaged[0].read_text()
    assert source.index("def greeter(") < source.index("def shout(") < source.index("def relay("), source
    assert "@cloud_function" not in source

    out = tested.ok().stdout
    assert out.startswith("Running local test... Success! Testing on cloud...\n"), tested
    assert tested.json() == "HELLO ADA!!!", tested
    assert '"inner": "Hello Ada!"' in out, tested  # the answer printed, as the paper's test() does

    assert experiment.ok().json() == ["Hello Bob!"] * 3 + ["Hello Eve!"] * 3, experiment
    # LOCAL runs the def in the notebook, test() reaches the deployed function; NONE calls do nothing.
    assert modes.ok().json() == ["notebook", "local", None], modes
    out = no_deploy.ok().stdout
    assert "local: runs in the notebook, not deployed: draft" in out, no_deploy
    assert "draft is not deployed (setDeploy(False))" in out, no_deploy
    assert no_deploy.json() == [{"draft": 42}, {"draft": 2}], no_deploy
    error = container.error
    # containerize=True has the kernel build the image for aws; this sandbox has no AWS credentials
    assert error.ename == "PlatformUnavailable" and "AWS" in error.evalue, container


def test_references_by_name_must_exist_and_config_must_be_a_dict(workspace):
    missing, bad_config = workspace.run(
        SETUP + '\n@cloud_function(platforms=[Platform.LOCAL], references=["nowhere"])\n'
                'def f(request, context):\n    return nowhere()',
        '@cloud_function(platforms=[Platform.LOCAL], config=["memory", 256])\ndef g(request, context):\n    return 1')
    assert missing.error.ename == "CompatibilityError" and "'nowhere' is not defined" in missing.error.evalue
    assert bad_config.error.ename == "TypeError" and "config must be a dict" in bad_config.error.evalue
