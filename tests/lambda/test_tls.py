"""The `aws` platform over HTTPS, as every real Lambda endpoint is: the
strict Lambda stand-in behind a TLS terminator (nginx, with a CA made for
the test; tests/support/tls_terminator.py), reached by host name
(https://localhost:PORT). Deploys, calls and an experiment go through the
engine's own TLS client, trusting the CA named the ways AWS users name one
(AWS_CA_BUNDLE, ca_bundle in the config file, SSL_CERT_FILE); with no CA
named, every call fails with a sentence that says which variable to set,
and nothing is deployed or called unverified."""
import json
import sys

import pytest
from cloud_helpers import ROOT
from conftest import SECRET_KEY, aws_line, cell_for, outputs_text, start_standin

sys.path.insert(0, str(ROOT / "tests" / "support"))
from tls_terminator import TlsTerminator  # noqa: E402


@pytest.fixture(scope="module")
def secure_standin(logs_dir):
    """The stand-in and nginx in front of it: (stand-in, terminator)."""
    server = start_standin(logs_dir, "--pending-seconds", "0.3", "--update-seconds", "0.3", "--concurrency", "8")
    folder = logs_dir / "tls"
    folder.mkdir(exist_ok=True)
    port = int(server.url.rsplit(":", 1)[1])
    terminator = TlsTerminator(folder, port, 64)
    try:
        yield server, terminator
    finally:
        terminator.stop()
        server.stop()


def standin_stats(server):
    import urllib.request
    with urllib.request.urlopen(server.url + "/_standin/stats", timeout=10) as answer:
        return json.load(answer)


def test_deploy_call_and_experiment_over_https_with_aws_ca_bundle(aws_workspace, secure_standin):
    server, terminator = secure_standin
    workspace = aws_workspace.use(terminator.url.rstrip("/"))
    workspace.env["AWS_CA_BUNDLE"] = str(terminator.ca_file)
    before = standin_stats(server)
    deployed, called, experiment = workspace.run(
        cell_for("secure", body="return {'n': request['n'] * 2}", options="memory=128"),
        "print(sum(secure({'n': i})['n'] for i in range(20)))",
        '%%experiment secure\n{"experimentName": "over-tls", "payloads": [{"n": 1}], "runs": 16, "threads": 4}')
    assert aws_line(deployed)["verb"] == "deployed", deployed
    assert called.ok().stdout.strip() == str(2 * sum(range(20)))
    experiment.ok()
    runs = list((workspace.folder / "faaset-results" / "secure").glob("over-tls-*/runs.jsonl"))
    rows = [json.loads(line) for line in runs[0].read_text().splitlines()]
    assert len(rows) == 16 and all(row["status"] == "ok" for row in rows), rows[:2]
    after = standin_stats(server)
    assert after["invocations"] - before["invocations"] == 36
    assert after["signature_failures"] == before["signature_failures"], "the Host header or a signature was lost"
    assert SECRET_KEY not in outputs_text([deployed, called, experiment])


def test_ca_bundle_in_the_config_file_and_ssl_cert_file(aws_workspace, secure_standin, tmp_path):
    _, terminator = secure_standin
    workspace = aws_workspace.use(terminator.url.rstrip("/"))
    config = tmp_path / "config"
    config.write_text(f"[default]\nca_bundle = {terminator.ca_file}\n")
    workspace.env["AWS_CONFIG_FILE"] = str(config)
    deployed, called = workspace.run(cell_for("configured", body="return 'ok'", options="memory=128"),
                                     "print(configured({}))")
    assert aws_line(deployed)["verb"] in ("deployed", "up to date"), deployed
    assert called.ok().stdout.strip() == "ok"

    workspace.env["AWS_CONFIG_FILE"] = "/nonexistent/config"
    workspace.env["SSL_CERT_FILE"] = str(terminator.ca_file)
    deployed, called = workspace.run(cell_for("configured", body="return 'ok'", options="memory=128"),
                                     "print(configured({}))")  # a new kernel: the cell again
    assert aws_line(deployed)["verb"] == "up to date", deployed
    assert called.ok().stdout.strip() == "ok"


def test_no_ca_named_is_a_clear_error_never_an_unverified_call(aws_workspace, secure_standin):
    server, terminator = secure_standin
    workspace = aws_workspace.use(terminator.url.rstrip("/"))
    for name in ("AWS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        workspace.env.pop(name, None)
    before = standin_stats(server)
    (deployed,) = workspace.run(cell_for("untrusted", body="return 1", options="memory=128"))
    assert deployed.error is not None, deployed
    text = deployed.error.evalue
    assert "localhost" in text and "not trusted" in text and "AWS_CA_BUNDLE" in text, text
    assert SECRET_KEY not in outputs_text([deployed])
    after = standin_stats(server)
    assert after["requests"] == before["requests"], "a request reached Lambda without a verified certificate"
