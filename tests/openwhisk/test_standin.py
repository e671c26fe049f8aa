"""The OpenWhisk stand-in's own strictness, as a client sees it: Basic
auth and namespaces, the actions resource (overwrite, 409, limits, 413,
415, versions), invocations that run the uploaded zip's __main__.py in a
fresh process per cold start (warm reuse, parameters, environment,
application and developer errors, timeout, memory, the controller's wait
and its 202) and the activations they leave; IBM Cloud IAM's API-key grant
and the IAM-based namespaces that take only its bearer tokens, which
expire. (The official openwhisk npm client checks it too:
tests/openwhisk/node.)"""
import threading
import time

from standin_fixture import NAMESPACE, OwStandin, zipped

MAIN = """import os, time
print("imported")
def main(params):
    if params.get("fail"):
        return {"error": "failed on purpose"}
    if params.get("raise"):
        raise ValueError("raised on purpose")
    if params.get("nodict"):
        return [1, 2]
    if params.get("sleep"):
        time.sleep(params["sleep"])
    if params.get("allocate"):
        block = bytearray(params["allocate"] * 1024 * 1024)
    print("handled", sorted(params))
    return {"params": params, "pid": os.getpid(), "name": os.environ["__OW_ACTION_NAME"],
            "activation": os.environ["__OW_ACTIVATION_ID"], "namespace": os.environ["__OW_NAMESPACE"],
            "helper": __import__("helper").VALUE}
"""
FILES = {"__main__.py": MAIN, "helper.py": "VALUE = 42\n"}


def action_body(files=None, **limits):
    return {"exec": {"kind": "python:3.11", "code": zipped(files or FILES), "binary": True, "main": "main"},
            "limits": limits or {"memory": 256, "timeout": 10000}}


def create(standin, name="hello", **kwargs):
    status, body, _ = standin.call("PUT", f"/namespaces/_/actions/{name}", action_body(**kwargs))
    assert status == 200, body
    return body


def invoke(standin, name, params=None, blocking="true", result="true", path="/namespaces/_", **kwargs):
    return standin.call("POST", f"{path}/actions/{name}", params or {},
                        query={"blocking": blocking, "result": result}, **kwargs)


def annotation(record, key):
    return next((a["value"] for a in record["annotations"] if a["key"] == key), None)


def test_basic_auth_and_namespaces(standin):
    create(standin)
    status, body, headers = standin.call("GET", "/namespaces/_/actions", auth="")
    assert status == 401 and "requires authentication" in body["error"]
    assert body["code"] == headers["x-request-id"] and len(body["code"]) == 32
    uuid = standin.auth.split(":")[0]
    status, body, _ = standin.call("GET", "/namespaces/_/actions", auth=f"{uuid}:wrong-key")
    assert status == 401 and body["error"] == "The supplied authentication is invalid"
    status, body, _ = standin.call("GET", "/namespaces/someone-else/actions")
    assert status == 403 and "not authorized to access 'someone-else'" in body["error"]
    assert standin.call("GET", "/namespaces")[:2] == (200, [NAMESPACE])
    for namespace in ("_", NAMESPACE):
        status, body, _ = standin.call("GET", f"/namespaces/{namespace}/actions/hello")
        assert status == 200 and body["namespace"] == NAMESPACE
    status, body, _ = standin.call("GET", "/namespaces/_/actions/hello", auth=standin.other_auth)
    assert status == 404 and body["error"] == "The requested resource does not exist."


def test_create_overwrite_get_list_delete(standin):
    created = create(standin)
    assert created["version"] == "0.0.1" and created["limits"] == {"memory": 256, "timeout": 10000, "logs": 10,
                                                                   "concurrency": 1}
    assert created["exec"]["binary"] is True and created["exec"]["main"] == "main"
    status, body, _ = standin.call("PUT", "/namespaces/_/actions/hello", action_body())
    assert status == 409 and body["error"] == "resource already exists" and body["code"]
    status, body, _ = standin.call("PUT", "/namespaces/_/actions/hello", {"limits": {"memory": 512}},
                                   query={"overwrite": "true"})
    assert status == 200 and body["version"] == "0.0.2"
    assert body["limits"]["memory"] == 512 and body["limits"]["timeout"] == 10000
    assert body["exec"]["code"] == created["exec"]["code"]
    status, body, _ = standin.call("GET", "/namespaces/_/actions/hello", query={"code": "false"})
    assert status == 200 and "code" not in body["exec"] and body["exec"]["kind"] == "python:3.11"
    create(standin, "second")
    status, listed, _ = standin.call("GET", "/namespaces/_/actions")
    assert [a["name"] for a in listed] == ["hello", "second"] and "code" not in listed[0]["exec"]
    assert [a["name"] for a in standin.call("GET", "/namespaces/_/actions", query={"limit": 1, "skip": 1})[1]] \
        == ["second"]
    status, body, _ = standin.call("DELETE", "/namespaces/_/actions/hello")
    assert status == 200 and body["name"] == "hello"
    assert standin.call("DELETE", "/namespaces/_/actions/hello")[0] == 404
    assert standin.call("GET", "/namespaces/_/actions/hello")[0] == 404
    status, body, _ = standin.call("PUT", "/namespaces/_/actions/new", {"limits": {"memory": 256}},
                                   query={"overwrite": "true"})
    assert status == 400 and "'exec' is required" in body["error"]


def test_limits_kinds_and_sizes(standin):
    for limits, text in (({"memory": 64}, "memory 64 MB below allowed threshold of 128 MB."),
                         ({"memory": 4096}, "memory 4096 MB exceeds allowed threshold of 2048 MB."),
                         ({"timeout": 50}, "timeout 50 milliseconds below allowed threshold of 100 milliseconds."),
                         ({"timeout": 600001},
                          "timeout 600001 milliseconds exceeds allowed threshold of 600000 milliseconds.")):
        status, body, _ = standin.call("PUT", "/namespaces/_/actions/limited", action_body(**limits))
        assert (status, body["error"]) == (400, text)
    assert standin.call("PUT", "/namespaces/_/actions/limited", action_body(memory=2048, timeout=600000))[0] == 200
    bad = action_body()
    bad["exec"]["kind"] = "python:2"
    status, body, _ = standin.call("PUT", "/namespaces/_/actions/kind", bad)
    assert status == 400 and "kind 'python:2'" in body["error"]
    bad["exec"].update(kind="python:3.11", code="bm90IGEgemlw")  # base64 of "not a zip"
    status, body, _ = standin.call("PUT", "/namespaces/_/actions/kind", bad)
    assert status == 400 and "not a base64 zip" in body["error"]
    big = action_body(files={"__main__.py": MAIN, "blob.bin": __import__("os").urandom(200000).hex()})
    status, body, _ = standin.call("PUT", "/namespaces/_/actions/big", big)
    assert status == 413 and body["error"].startswith("exec larger than allowed")
    status, body, _ = standin.call("PUT", "/namespaces/_/actions/x", raw=b"exec=1",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415
    status, body, _ = standin.call("PUT", "/namespaces/_/actions/bad%2Fname", action_body())
    assert status in (400, 404)


def test_invoke_runs_main_warm_and_cold(standin):
    standin.call("PUT", "/namespaces/_/actions/hello",
                 dict(action_body(), parameters=[{"key": "fixed", "value": 1}, {"key": "name", "value": "x"}]))
    status, result, headers = invoke(standin, "hello", {"name": "Bob"})
    assert status == 200, result
    assert result["params"] == {"fixed": 1, "name": "Bob"} and result["helper"] == 42
    assert result["name"] == f"/{NAMESPACE}/hello" and result["namespace"] == NAMESPACE
    assert result["activation"] == headers["x-openwhisk-activation-id"]
    status, record, _ = standin.call("GET", f"/namespaces/_/activations/{result['activation']}")
    assert status == 200 and record["response"] == {"status": "success", "statusCode": 0, "success": True,
                                                     "result": result}
    assert annotation(record, "initTime") is not None and annotation(record, "path") == f"{NAMESPACE}/hello"
    assert annotation(record, "limits")["memory"] == 256 and annotation(record, "timeout") is False
    assert annotation(record, "waitTime") >= 0 and record["duration"] == record["end"] - record["start"]
    assert any(line.endswith("stdout: imported") for line in record["logs"])
    assert any("stdout: handled ['fixed', 'name']" in line for line in record["logs"])
    status, warm, _ = invoke(standin, "hello", {}, result="false")
    assert status == 200 and warm["response"]["result"]["pid"] == result["pid"]
    assert annotation(warm, "initTime") is None and not any("imported" in line for line in warm["logs"])
    standin.call("PUT", "/namespaces/_/actions/hello", {"limits": {"memory": 512}}, query={"overwrite": "true"})
    assert invoke(standin, "hello")[1]["pid"] != result["pid"]  # a new version is a cold start


def test_plain_source_action(standin):
    body = {"exec": {"kind": "python:3.12", "code": "def run(args):\n    return {'twice': args['n'] * 2}\n",
                     "main": "run"}}
    status, created, _ = standin.call("PUT", "/namespaces/_/actions/plain", body)
    assert status == 200 and created["exec"]["binary"] is False
    assert invoke(standin, "plain", {"n": 21})[:2] == (200, {"twice": 42})


def test_errors_are_502_with_the_activation(standin):
    create(standin)
    status, body, headers = invoke(standin, "hello", {"fail": True})
    assert (status, body) == (502, {"error": "failed on purpose"}) and headers["x-openwhisk-activation-id"]
    status, record, _ = invoke(standin, "hello", {"raise": True}, result="false")
    assert status == 502 and record["response"]["status"] == "action developer error"
    assert "ValueError: raised on purpose" in record["response"]["result"]["error"]
    assert any("Traceback" in line and "stderr:" in line for line in record["logs"])
    status, body, _ = invoke(standin, "hello", {"nodict": True})
    assert (status, body) == (502, {"error": "The action did not return a dictionary."})
    create(standin, "nomain", files={"main.py": MAIN})
    status, body, _ = invoke(standin, "nomain")
    assert (status, body) == (502, {"error": "Zip file does not include __main__.py"})
    create(standin, "broken", files={"__main__.py": "import no_such_module\n"})
    status, record, _ = invoke(standin, "broken", result="false")
    assert status == 502 and "No module named 'no_such_module'" in record["response"]["result"]["error"]
    assert any("ModuleNotFoundError" in line for line in record["logs"])
    assert invoke(standin, "missing")[0] == 404


def test_timeout_and_memory(standin):
    create(standin, "slow", memory=128, timeout=500)
    status, record, _ = invoke(standin, "slow", {"sleep": 2}, result="false")
    assert status == 502 and annotation(record, "timeout") is True
    assert record["response"]["result"] == {"error": "The action exceeded its time limits of 500 milliseconds."}
    assert record["duration"] < 2000
    create(standin, "hungry", memory=128, timeout=10000)
    status, body, _ = invoke(standin, "hungry", {"allocate": 300})
    assert (status, body) == (502, {"error": "The action exhausted its memory and was aborted."})
    assert invoke(standin, "hungry", {"allocate": 20})[0] == 200  # a new container after the kill


def test_controller_wait_gives_202_then_poll(standin):
    create(standin, "long", timeout=20000)
    status, body, headers = invoke(standin, "long", {"sleep": 4.5})
    assert status == 202 and body["activationId"] == headers["x-openwhisk-activation-id"]
    path = f"/namespaces/_/activations/{body['activationId']}"
    assert standin.call("GET", path)[0] == 404  # still running
    deadline = time.monotonic() + 20
    while (answer := standin.call("GET", path))[0] == 404 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert answer[0] == 200 and answer[1]["response"]["success"] is True


def test_non_blocking_and_activation_parts(standin):
    create(standin)
    status, body, _ = invoke(standin, "hello", {"a": 1}, blocking="false")
    assert status == 202 and list(body) == ["activationId"]
    path = f"/namespaces/_/activations/{body['activationId']}"
    deadline = time.monotonic() + 20
    while standin.call("GET", path)[0] == 404 and time.monotonic() < deadline:
        time.sleep(0.1)
    status, logs, _ = standin.call("GET", path + "/logs")
    assert status == 200 and any("handled ['a']" in line for line in logs["logs"])
    status, response, _ = standin.call("GET", path + "/result")
    assert status == 200 and response["result"]["params"] == {"a": 1}
    status, listed, _ = standin.call("GET", "/namespaces/_/activations", query={"name": "hello"})
    assert status == 200 and [a["activationId"] for a in listed] == [body["activationId"]]
    assert "response" not in listed[0]
    assert standin.call("GET", path, auth=standin.other_auth)[0] == 404
    assert standin.call("POST", "/namespaces/_/actions/hello", raw=b"[1]")[0] == 400
    status, body, _ = standin.call("POST", "/namespaces/_/actions/hello", raw=b"{" + b" " * (1 << 20) + b"}")
    assert status == 413 and body["error"].startswith("Request larger than allowed")


def test_concurrency_limit_is_429(tmp_path):
    standin = OwStandin(tmp_path, ["--concurrency", "1"])
    try:
        create(standin, "slow")
        first = threading.Thread(target=invoke, args=(standin, "slow", {"sleep": 1.5}))
        first.start()
        time.sleep(0.5)
        status, body, _ = invoke(standin, "slow")
        first.join()
        assert status == 429 and "Too many concurrent requests in flight" in body["error"]
    finally:
        standin.stop()


def test_iam_token_grant(standin):
    status, body = standin.iam_token(standin.apikey)
    assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["access_token"] and abs(body["expiration"] - time.time() - 3600) < 60
    status, body = standin.iam_token("not-a-key")
    assert status == 400 and body["errorCode"] == "BXNIM0415E"
    assert body["errorMessage"] == "Provided API key could not be found." and body["context"]["requestId"]
    status, body = standin.iam_token("")
    assert status == 400 and body["errorCode"] == "BXNIM0109E" and "'apikey'" in body["errorDetails"]
    status, body = standin.iam_token(standin.apikey, grant_type="client_credentials")
    assert status == 400 and body["errorCode"] == "BXNIM0103E"
    status, body = standin.iam_token(standin.apikey, content_type="application/json")
    assert status == 400 and body["errorCode"] == "BXNIM0109E"
    assert standin.stats() == {"iam_tokens": 1, "expired_token_calls": 0}


def test_iam_namespace_takes_only_its_bearer_tokens(standin):
    token = standin.iam_token(standin.apikey)[1]["access_token"]
    other = standin.iam_token(standin.other_apikey)[1]["access_token"]
    space = f"/namespaces/{standin.iam_namespace}"
    status, body, _ = standin.call("PUT", f"{space}/actions/hello", action_body(), bearer=token)
    assert status == 200 and body["namespace"] == standin.iam_namespace
    status, body, _ = invoke(standin, "hello", {"n": 1}, bearer=token, path=space)
    assert status == 200 and body["namespace"] == standin.iam_namespace and body["params"] == {"n": 1}
    status, body, _ = standin.call("GET", f"{space}/actions")  # Basic auth of a subject
    assert status == 401 and "takes an IAM token" in body["error"]
    status, body, _ = standin.call("GET", f"{space}/actions", bearer=other)
    assert status == 403 and standin.iam_namespace in body["error"]
    for namespace in ("_", NAMESPACE):
        status, body, _ = standin.call("GET", f"/namespaces/{namespace}/actions", bearer=token)
        assert status == 403
    status, body, _ = standin.call("GET", f"{space}/actions", bearer="iam-not-a-token")
    assert status == 401 and body["error"] == "The supplied authentication is invalid"
    assert standin.stats()["expired_token_calls"] == 0


def test_iam_tokens_expire(tmp_path):
    server = OwStandin(tmp_path, ["--iam-token-seconds", "1"])
    try:
        status, body = server.iam_token(server.apikey)
        assert status == 200 and body["expires_in"] == 1
        space = f"/namespaces/{server.iam_namespace}"
        assert server.call("GET", f"{space}/actions", bearer=body["access_token"])[0] == 200
        time.sleep(1.2)
        status, answer, _ = server.call("GET", f"{space}/actions", bearer=body["access_token"])
        assert status == 401 and "expired" in answer["error"]
        assert server.stats() == {"iam_tokens": 1, "expired_token_calls": 1}
    finally:
        server.stop()
