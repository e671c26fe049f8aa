"""The `ibm` platform in IBM Cloud's IAM-based namespaces, through a
kernel, against the stand-in's IAM token endpoint and its IAM namespaces,
which take only bearer tokens (Basic is refused) and whose tokens expire:
an IBM Cloud API key from IBMCLOUD_API_KEY or from a file named by
`%platform ibm iam_apikey_file=`, one token exchange for many calls and an
experiment (counted by the stand-in's stats), a new token once the old one has
expired and never a call with an expired one, and a key IAM does not know
explained in one sentence. The workspace fixture scans everything the
kernel wrote for the keys and for any token the stand-in issued."""
import json

import pytest
from conftest import assert_no_secret, cell_for, ibm_line, outputs_text, secrets_of, start_standin

CALLS = '''import json
results = [doubler({"n": i}) for i in range(20)]
print(json.dumps([sum(r["n"] for r in results), len({r["activationId"] for r in results})]))'''


def doubler_cell():
    return cell_for("doubler", body='return {"n": request["n"] * 2}')


def action_in(standin, name):
    """The action as IBM Cloud shows it in the IAM namespace (with a token of the test's own)."""
    token = standin.iam_token(standin.apikey)[1]["access_token"]
    status, action, _ = standin.call("GET", f"/namespaces/{standin.iam_namespace}/actions/{name}", bearer=token)
    assert status == 200, action
    return action


@pytest.fixture(scope="module")
def iam_standin(tmp_path_factory):
    server = start_standin(tmp_path_factory.mktemp("ow-iam"), "--controller-wait", "20")
    yield server
    server.stop()


def test_deploy_and_call_in_an_iam_namespace_with_one_token(ibm_workspace, iam_standin):
    workspace = ibm_workspace.use_iam(iam_standin)
    before = iam_standin.stats()
    shown, deployed, called, unchanged, experiment = workspace.run(
        "%platform ibm", doubler_cell(), CALLS, doubler_cell(),
        '%%experiment doubler\n{"experimentName": "iam", "payloads": [{"n": 1}], "runs": 12, "threads": 4}')
    after = iam_standin.stats()
    text = shown.ok().stdout
    assert "IBM Cloud API key from IBMCLOUD_API_KEY" in text and f"{iam_standin.url}/identity/token" in text, shown
    assert f"namespace {iam_standin.iam_namespace} from __OW_NAMESPACE" in text, shown
    assert ibm_line(deployed)["verb"] == "deployed", deployed
    assert called.ok().json() == [2 * sum(range(20)), 20], called
    assert ibm_line(unchanged)["verb"] == "up to date", unchanged
    experiment.ok()
    rows = [json.loads(line) for path in (workspace.folder / "faaset-results" / "doubler").glob("iam-*/runs.jsonl")
            for line in path.read_text().splitlines()]
    assert len(rows) == 12 and all(r["status"] == "ok" and len(r["activationId"]) == 32 for r in rows), rows[:2]
    # a GET and a PUT, twenty calls, the unchanged cell's check and an experiment's pass: one exchange
    assert after["iam_tokens"] - before["iam_tokens"] == 1, (before, after)
    assert after["expired_token_calls"] == 0, after
    action = action_in(iam_standin, "doubler")
    assert action["namespace"] == iam_standin.iam_namespace and action["limits"]["memory"] == 256
    assert_no_secret(outputs_text([shown, deployed, called, unchanged, experiment]), "the outputs",
                     secrets_of(iam_standin))


def test_a_key_file_and_the_token_renewed_after_it_expired(ibm_workspace, tmp_path):
    server = start_standin(tmp_path / "short", "--iam-token-seconds", "16")
    try:
        workspace = ibm_workspace.use_iam(server)
        del workspace.env["IBMCLOUD_API_KEY"]
        del workspace.env["IBMCLOUD_IAM_API_ENDPOINT"]
        key_file = tmp_path / "apikey.json"  # as `ibmcloud iam api-key-create faaset --file` writes it
        key_file.write_text(json.dumps({"name": "faaset", "description": "", "apikey": server.apikey}))
        settings = (f"%platform ibm iam_apikey_file={key_file} iam_endpoint={server.url} "
                    f"namespace={server.iam_namespace}")
        # the deploy and the first call use the first token (its refresh would start 8 s after it was bought);
        # 16.5 s later it has expired, and the next call waits for a new one
        shown, deployed, first, _, later = workspace.run(
            settings, doubler_cell(), 'print(doubler({"n": 1})["n"])', "import time; time.sleep(16.5)",
            'print(doubler({"n": 2})["n"])')
        assert "IBM Cloud API key from" in shown.ok().stdout and "(iam_apikey_file=)" in shown.stdout, shown
        assert ibm_line(deployed)["verb"] == "deployed", deployed
        assert first.ok().stdout.strip() == "2", first
        assert later.ok().stdout.strip() == "4", later
        stats = server.stats()
        assert stats == {"iam_tokens": 2, "expired_token_calls": 0}, stats
        assert_no_secret(outputs_text([shown, deployed, first, later]), "the outputs", secrets_of(server))
    finally:
        server.stop()


def test_bad_keys_and_namespaces_say_what_to_do(ibm_workspace, iam_standin):
    workspace = ibm_workspace.use_iam(iam_standin, apikey="AbCdEf-not-a-key-IAM-knows-0123456789")
    (unknown,) = workspace.run(doubler_cell())
    message = unknown.error.evalue
    assert "IBM Cloud IAM at" in message and "refused the API key from IBMCLOUD_API_KEY" in message, unknown
    assert "BXNIM0415E: Provided API key could not be found." in message, unknown
    assert "not-a-key-IAM-knows" not in message, unknown

    workspace = ibm_workspace.use_iam(iam_standin, namespace=iam_standin.other_iam_namespace)
    (forbidden,) = workspace.run(doubler_cell())
    assert "the API key from IBMCLOUD_API_KEY may not use the namespace" in forbidden.error.evalue, forbidden
    assert "Reader to call, Writer to deploy" in forbidden.error.evalue, forbidden

    workspace = ibm_workspace.use_iam(iam_standin)
    del workspace.env["__OW_NAMESPACE"]
    (no_namespace,) = workspace.run(doubler_cell())
    assert "namespace=ID" in no_namespace.error.evalue, no_namespace

    workspace = ibm_workspace.use(iam_standin, namespace=iam_standin.iam_namespace)  # Basic auth there
    (basic,) = workspace.run(doubler_cell())
    assert "did not accept the key" in basic.error.evalue, basic

    workspace = ibm_workspace.use_iam(iam_standin)
    (in_notebook,) = workspace.run(f"%platform ibm iam_apikey={iam_standin.apikey}")
    assert "never goes in the notebook" in in_notebook.error.evalue, in_notebook
    assert "IBMCLOUD_API_KEY" in in_notebook.error.evalue, in_notebook
    assert_no_secret(outputs_text([unknown, forbidden, no_namespace, basic]), "the outputs",
                     secrets_of(iam_standin))
