"""FaaSET's notebooks on the aws platform: the paper's API and today's
FaaSET deploy with the role their config names (no `%platform aws role=`,
no FAASET_AWS_ROLE), against moto's Lambda (which records the role) and the
strict stand-in (which runs the uploaded package, so a call, a referenced
function inside it and FaaSRunner's experiment run for real).

    FAASET_BINARY=build/faaset FAASET_AWS_PYTHON=$(which python3) \\
        /usr/bin/python3 -m pytest -q tests/compat/test_aws.py
"""
import re

from conftest import ROLE, lambda_fixtures

PAPER = f'''from platforms.jupyter.interactive_helpers import *
config = {{"lambdaRoleARN": "{ROLE}"}}
setGlobalConfig(config)

@cloud_function(platforms=[Platform.AWS], memory=256, config=config)
def greeter(request, context):
    from Inspector import *
    inspector = Inspector()
    inspector.inspectPlatform()
    inspector.addAttribute("greeting", "Hello " + request["name"] + "!")
    return inspector.finish()'''

PAPER_RELAY = '''@cloud_function(platforms=[Platform.AWS], memory=128, references=[greeter])
def relay(request, context):
    inner = greeter(request, None)
    return {"relayed": inner["greeting"].upper(), "where": inner["platform"]}

import json
answer = test(function=relay, payload={"name": "Ada"}, quiet=True, skipLocal=True)
print(json.dumps([answer["relayed"], answer["where"], answer["roundTripTime"] > 0]))'''

TEMPLATE = f'''import json
import FaaSET
import FaaSRunner

function_config = {{"role": "{ROLE}", "memory": 256, "timeout": 20, "region": "us-east-1"}}

@FaaSET.cloud_function(platform="aws", config=function_config)
def hello_world(request, context):
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectAll()
    inspector.addAttribute("message", "Hello from the cloud " + str(request["name"]) + "!")
    return inspector.finish()

print(json.dumps(hello_world({{"name": "Steve"}})["message"]))'''

TEMPLATE_RUNNER = '''results = FaaSRunner.experiment(hello_world, threads=2, runs_per_thread=2, payloads=[{"name": "Ann"}])
rows = results.to_dict("records") if hasattr(results, "to_dict") else results
print(json.dumps(sorted(set((row["message"], row["platform"]) for row in rows)) + [len(rows)]))'''


def test_the_config_role_deploys_to_lambda(aws_workspace, moto):
    workspace = aws_workspace.use(moto)
    paper, = workspace.run(PAPER)
    assert re.search(r"^aws: deployed greeter \([0-9a-f]{8}\) in ", paper.ok().stdout, re.M), paper
    remote = lambda_fixtures.tool(moto, "get", "greeter")["Configuration"]
    assert remote["Role"] == ROLE and remote["MemorySize"] == 256, remote

    missing, = workspace.run('import FaaSET\n@FaaSET.cloud_function(platform="aws", config={"memory": 128})\n'
                             'def roleless(request, context):\n    return {}')
    assert "needs an execution role" in missing.error.evalue and "role= option" in missing.error.evalue, missing
    bad, = workspace.run('import FaaSET\n@FaaSET.cloud_function(platform="aws", config={"role": "admin"})\n'
                         'def badrole(request, context):\n    return {}')
    assert bad.error.ename == "InvalidOption" and "role must be an IAM role ARN" in bad.error.evalue, bad


def test_the_notebooks_run_on_the_lambda_standin(aws_workspace, standin):
    workspace = aws_workspace.use(standin.url)
    paper, relay, template, runner = workspace.run(PAPER, PAPER_RELAY, TEMPLATE, TEMPLATE_RUNNER)
    assert re.search(r"^aws: deployed greeter ", paper.ok().stdout, re.M), paper
    # greeter's source went into relay's package: called inside relay on Lambda, it runs there
    assert relay.ok().json() == ["HELLO ADA!", "AWS Lambda", True], relay
    out = template.ok().stdout
    assert re.search(r"^aws: deployed hello_world ", out, re.M), template
    assert "'region' is a platform setting here" in out, template
    assert template.json() == "Hello from the cloud Steve!", template
    assert runner.ok().json() == [["Hello from the cloud Ann!", "AWS Lambda"], 4], runner


DUPLICATE = '''FaaSET.duplicate(hello_world, source_platform="aws", new_name="aws-big")
FaaSET.reconfigure(hello_world, platform="aws-big", override_config={"memory": 512})
big = FaaSET.test(hello_world, payload={"name": "Bo"}, platform="aws-big", quiet=True)
small = FaaSET.test(hello_world, payload={"name": "Al"}, platform="aws", quiet=True)
print(json.dumps([big["message"], big["functionMemory"], big["functionName"], small["functionMemory"],
                  small["functionName"]]))'''


def test_a_duplicate_is_its_own_lambda_function(aws_workspace, standin):
    workspace = aws_workspace.use(standin.url)
    template, duplicate = workspace.run(TEMPLATE, DUPLICATE)
    # the module's stand-in may have hello_world from the test before
    assert re.search(r"^aws: (deployed|up to date) hello_world ", template.ok().stdout, re.M), template
    out = duplicate.ok().stdout
    assert re.search(r"^aws: deployed hello_world_aws_big ", out, re.M), duplicate
    assert re.search(r"^aws: updated configuration of hello_world_aws_big ", out, re.M), duplicate
    assert duplicate.json() == ["Hello from the cloud Bo!", "512", "hello_world_aws_big", "256", "hello_world"]
    big = lambda_fixtures.tool(standin.url, "get", "hello_world_aws_big")["Configuration"]
    original = lambda_fixtures.tool(standin.url, "get", "hello_world")["Configuration"]
    assert big["MemorySize"] == 512 and original["MemorySize"] == 256, (big, original)
    assert big["Role"] == ROLE, big  # the copy of the config deploys with its role
