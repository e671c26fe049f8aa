"""The Cloud Functions stand-in's own strictness, as a client sees it: the
token endpoint (signature, claims, grants), bearer and permission checks,
the functions resource and its Operations, uploads, and calls that run the
uploaded handler in a fresh process per cold start with its memory,
timeout and instance limits. (Google's own Node libraries check it too:
tests/gcf/node.)"""
import io
import json
import threading
import time
import urllib.parse
import zipfile

from standin_fixture import EMAIL, PROJECT, SCOPE, sign_jwt

PARENT = f"/v2/projects/{PROJECT}/locations/us-central1/functions"
HANDLER = """import os, time
def handler(request):
    body = request.get_json(silent=True) or {}
    if body.get("fail"):
        raise ValueError("the function failed on purpose")
    if body.get("sleep"):
        time.sleep(body["sleep"])
    if body.get("allocate"):
        block = bytearray(body["allocate"] * 1024 * 1024)
    print("handled", body)
    return {"got": body, "service": os.environ["K_SERVICE"], "target": os.environ["FUNCTION_TARGET"],
            "pid": os.getpid(), "greeting": os.environ.get("GREETING")}
"""


def zipped(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def upload(standin, token, data):
    status, answer = standin.call("POST", PARENT + ":generateUploadUrl", {}, token=token)
    assert status == 200, answer
    status, body, _ = standin.request("PUT", answer["uploadUrl"], data, {"Content-Type": "application/zip"})
    assert status == 200, body
    return answer["storageSource"]


def function_body(source, memory="256M", timeout=60, **service):
    return {"buildConfig": {"runtime": "python312", "entryPoint": "handler", "source": {"storageSource": source}},
            "serviceConfig": dict({"availableMemory": memory, "timeoutSeconds": timeout}, **service),
            "environment": "GEN_2"}


def deploy(standin, token, function_id, files=None, **config):
    source = upload(standin, token, zipped(files or {"main.py": HANDLER}))
    status, op = standin.call("POST", PARENT, function_body(source, **config), token=token,
                              query={"functionId": function_id})
    assert status == 200, op
    return standin.wait(op, token)


def call(standin, url, payload, token):
    return standin.request("POST", url, json.dumps(payload).encode(),
                           {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def test_token_grant_checks_signature_and_claims(standin):
    assert standin.grant(standin.claims())[0] == 200
    assert standin.grant(standin.claims(aud="https://oauth2.googleapis.com/token"))[0] == 200
    status, body = standin.grant(standin.claims(), key=standin.other_key)
    assert (status, body["error"], body["error_description"]) == (400, "invalid_grant", "Invalid JWT Signature.")
    status, body = standin.grant(standin.claims(), header={"alg": "RS256", "typ": "JWT", "kid": "old-key"})
    assert body["error_description"] == "Invalid JWT Signature."
    assert standin.grant(standin.claims(), header={"alg": "HS256", "typ": "JWT"})[1]["error"] == "invalid_grant"
    assert "audience" in standin.grant(standin.claims(aud="http://elsewhere/token"))[1]["error_description"]
    now = int(time.time())
    for iat, exp in ((now - 7200, now - 3600), (now, now + 7200), (now + 600, now + 1200)):
        status, body = standin.grant(standin.claims(iat=iat, exp=exp))
        assert status == 400 and "short-lived" in body["error_description"], (iat, exp)
    assert standin.grant(standin.claims(iss="nobody@example.com"))[1]["error"] == "invalid_grant"
    assert standin.grant(standin.claims(scope=None))[1]["error"] == "invalid_scope"
    status, body, _ = standin.request("POST", standin.url + "/token", b"grant_type=password",
                                      {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and json.loads(body)["error"] == "unsupported_grant_type"


def test_access_and_id_tokens(standin):
    status, body = standin.grant(standin.claims())
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["access_token"].startswith("ya29.")
    id_token = standin.id_token("https://example.com/fn")
    claims = json.loads(standin_decode(id_token.split(".")[1]))
    assert claims["aud"] == "https://example.com/fn" and claims["email"] == EMAIL
    assert claims["iss"] == "https://accounts.google.com" and claims["exp"] > time.time()


def standin_decode(part):
    import base64
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_refresh_token_grant(standin):
    user = standin.user

    def refresh(**changes):
        form = dict(grant_type="refresh_token", client_id=user["client_id"], client_secret=user["client_secret"],
                    refresh_token=user["refresh_token"])
        form.update(changes)
        status, body, _ = standin.request("POST", standin.url + "/token", urllib.parse.urlencode(form).encode(),
                                          {"Content-Type": "application/x-www-form-urlencoded"})
        return status, json.loads(body)

    status, body = refresh()
    assert status == 200 and SCOPE in body["scope"].split() and body["access_token"]
    assert standin.call("GET", PARENT, token=body["access_token"])[0] == 200
    assert refresh(client_secret="wrong") == (401, {"error": "invalid_client",
                                                    "error_description": "The OAuth client was not found."})
    assert refresh(refresh_token="1//wrong")[1]["error"] == "invalid_grant"


def test_bearer_scope_project_and_permission_checks(standin):
    status, body = standin.call("GET", PARENT)
    assert status == 401 and body["error"]["status"] == "UNAUTHENTICATED" and body["error"]["code"] == 401
    assert standin.call("GET", PARENT, token="ya29.made-up")[0] == 401
    id_token = standin.id_token("https://example.com")
    assert standin.call("GET", PARENT, token=id_token)[0] == 401
    status, body = standin.grant(standin.claims(scope="https://www.googleapis.com/auth/userinfo.email"))
    status, body = standin.call("GET", PARENT, token=body["access_token"])
    assert status == 403 and body["error"]["message"] == "Request had insufficient authentication scopes."
    token = standin.access_token()
    status, body = standin.call("GET", "/v2/projects/disabled-project/locations/us-central1/functions", token=token)
    assert status == 403 and body["error"]["details"][0]["reason"] == "SERVICE_DISABLED"
    status, body = standin.call("GET", "/v2/projects/someone-else/locations/us-central1/functions", token=token)
    assert status == 403 and body["error"]["status"] == "PERMISSION_DENIED"
    status, body = standin.call("GET", f"/v2/projects/{PROJECT}/locations/moon-south1/functions", token=token)
    assert status == 404 and body["error"]["status"] == "NOT_FOUND"
    reader = standin.grant(standin.claims(iss=standin.other_email), key=standin.other_key)[1]["access_token"]
    status, body = standin.call("POST", PARENT, {}, token=reader, query={"functionId": "abcd"})
    assert status == 403 and "cloudfunctions.functions.create" in body["error"]["message"]
    status, body = standin.call("GET", PARENT, token=token, query={"colour": "blue"})
    assert status == 400 and "Cannot bind query parameter" in body["error"]["message"]


def test_upload_url_is_signed_for_a_zip_without_authorization(standin):
    token = standin.access_token()
    status, answer = standin.call("POST", PARENT + ":generateUploadUrl", {}, token=token)
    url = answer["uploadUrl"]
    assert standin.request("PUT", url, b"PK", {"Content-Type": "application/octet-stream"})[0] == 403
    assert standin.request("PUT", url, b"PK", {"Content-Type": "application/zip",
                                               "Authorization": f"Bearer {token}"})[0] == 400
    assert standin.request("PUT", url.replace("Signature=", "Signature=0"), b"PK",
                           {"Content-Type": "application/zip"})[0] == 403
    assert standin.request("PUT", url, b"PK", {"Content-Type": "application/zip"})[0] == 200


def test_create_get_list_and_conflicts(standin):
    token = standin.access_token()
    source = upload(standin, token, zipped({"main.py": HANDLER}))
    status, op = standin.call("POST", PARENT, function_body(source), token=token, query={"functionId": "hello"})
    assert status == 200 and op["done"] is False and op["metadata"]["verb"] == "create"
    status, function = standin.call("GET", PARENT + "/hello", token=token)
    assert function["state"] == "DEPLOYING"
    status, body = standin.call("POST", PARENT, function_body(source), token=token, query={"functionId": "hello"})
    assert status == 409 and body["error"]["status"] == "ALREADY_EXISTS"
    op = standin.wait(op, token)
    assert op["response"]["state"] == "ACTIVE" and op["response"]["@type"].endswith("v2.Function")
    status, function = standin.call("GET", PARENT + "/hello", token=token)
    assert function["state"] == "ACTIVE" and function["url"].endswith("/functions/faaset-test/us-central1/hello")
    assert function["serviceConfig"]["availableMemory"] == "256M"
    status, numbers = standin.call("GET", PARENT + "/hello", token=token, query={"$alt": "json;enum-encoding=int"})
    assert numbers["state"] == 1 and numbers["environment"] == 2
    status, listed = standin.call("GET", PARENT, token=token)
    assert [f["name"] for f in listed["functions"]] == [function["name"]]
    status, body = standin.call("GET", PARENT + "/absent", token=token)
    assert status == 404 and body["error"]["status"] == "NOT_FOUND"
    for bad_id in ("Hello", "abc", "a" * 64, "9lives", "ends-"):
        status, body = standin.call("POST", PARENT, function_body(source), token=token, query={"functionId": bad_id})
        assert status == 400 and body["error"]["status"] == "INVALID_ARGUMENT", bad_id
    body = function_body(source)
    body["serviceConfig"]["colour"] = "blue"
    status, body = standin.call("POST", PARENT, body, token=token, query={"functionId": "other"})
    assert status == 400 and 'Unknown name "colour"' in body["error"]["message"]
    status, body = standin.call("POST", PARENT, function_body(source, memory="64M"), token=token,
                                query={"functionId": "small"})
    assert status == 400 and "128Mi" in body["error"]["message"]


def test_failed_build(standin):
    token = standin.access_token()
    op = deploy(standin, token, "no-entry", files={"main.py": "def other(request):\n    return 'x'\n"})
    assert op["error"]["code"] == 3 and "'handler' is not defined" in op["error"]["message"]
    status, function = standin.call("GET", PARENT + "/no-entry", token=token)
    assert function["state"] == "FAILED"


def test_patch_validates_the_mask_and_makes_a_new_revision(standin):
    token = standin.access_token()
    url = deploy(standin, token, "patched")["response"]["url"]
    id_token = standin.id_token(url)
    first = json.loads(call(standin, url, {}, id_token)[1])
    status, body = standin.call("PATCH", PARENT + "/patched", {"state": "ACTIVE"}, token=token,
                                query={"updateMask": "state"})
    assert status == 400 and "Invalid field mask" in body["error"]["message"]
    status, body = standin.call("PATCH", PARENT + "/patched", {}, token=token, query={"updateMask": "colour"})
    assert status == 400
    change = {"serviceConfig": {"availableMemory": "512M", "environmentVariables": {"GREETING": "hi"}}}
    status, op = standin.call("PATCH", PARENT + "/patched", change, token=token,
                              query={"updateMask": "service_config.available_memory,serviceConfig.environmentVariables"})
    assert status == 200 and op["metadata"]["verb"] == "update"
    status, body = standin.call("PATCH", PARENT + "/patched", change, token=token,
                                query={"updateMask": "serviceConfig.availableMemory"})
    assert status == 409 and body["error"]["status"] == "ABORTED"
    op = standin.wait(op, token)
    assert op["response"]["serviceConfig"]["availableMemory"] == "512M"
    assert op["response"]["serviceConfig"]["timeoutSeconds"] == 60
    second = json.loads(call(standin, url, {}, id_token)[1])
    assert second["greeting"] == "hi" and second["pid"] != first["pid"]


def test_delete(standin):
    token = standin.access_token()
    deploy(standin, token, "doomed")
    status, op = standin.call("DELETE", PARENT + "/doomed", token=token)
    assert status == 200 and op["metadata"]["verb"] == "delete"
    op = standin.wait(op, token)
    assert op["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    assert standin.call("GET", PARENT + "/doomed", token=token)[0] == 404
    assert standin.call("DELETE", PARENT + "/doomed", token=token)[0] == 404


def test_calls_need_an_id_token_for_the_url(standin):
    token = standin.access_token()
    url = deploy(standin, token, "private")["response"]["url"]
    assert standin.request("POST", url, b"{}", {"Content-Type": "application/json"})[0] == 401
    assert call(standin, url, {}, token)[0] == 403
    assert call(standin, url, {}, standin.id_token(url + "-other"))[0] == 403
    status, body, _ = call(standin, url, {"name": "Bob"}, standin.id_token(url))
    answer = json.loads(body)
    assert status == 200 and answer["got"] == {"name": "Bob"}
    assert (answer["service"], answer["target"]) == ("private", "handler")


def test_the_invoker_policy_opens_the_url(standin):
    token = standin.access_token()
    url = deploy(standin, token, "opened")["response"]["url"]
    service = f"/v2/projects/{PROJECT}/locations/us-central1/services/opened"
    status, policy = standin.call("GET", service + ":getIamPolicy", token=token)
    assert status == 200 and "bindings" not in policy and policy["etag"]
    assert standin.call("GET", service + ":getIamPolicy")[0] == 401
    bad = {"policy": {"etag": policy["etag"], "bindings": [{"role": "roles/run.invoker", "members": ["everyone"]}]}}
    assert standin.call("POST", service + ":setIamPolicy", bad, token=token)[0] == 400
    opened = {"policy": {"etag": policy["etag"], "bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]}}
    status, stored = standin.call("POST", service + ":setIamPolicy", opened, token=token)
    assert status == 200 and stored["etag"] != policy["etag"]
    status, stale = standin.call("POST", service + ":setIamPolicy", opened, token=token)
    assert status == 409 and stale["error"]["status"] == "ABORTED"
    assert standin.request("POST", url, b"{}", {"Content-Type": "application/json"})[0] == 200
    status, _ = standin.call("GET", f"/v2/projects/{PROJECT}/locations/us-central1/services/nothing:getIamPolicy",
                             token=token)
    assert status == 404


def test_cold_start_warm_reuse_exception_timeout_memory_and_instances(standin):
    token = standin.access_token()
    url = deploy(standin, token, "worker", timeout=2, memory="128Mi", maxInstanceCount=2)["response"]["url"]
    id_token = standin.id_token(url)
    pids = {json.loads(call(standin, url, {}, id_token)[1])["pid"] for _ in range(3)}
    assert len(pids) == 1
    status, body, _ = call(standin, url, {"fail": True}, id_token)
    assert status == 500 and b"Internal Server Error" in body
    logs = standin.request("GET", standin.url + f"/_standin/logs/{PROJECT}/us-central1/worker")[1].decode()
    assert "ValueError: the function failed on purpose" in logs and "handled" in logs
    assert call(standin, url, {"sleep": 5}, id_token)[0] == 504
    assert call(standin, url, {"allocate": 300}, id_token)[0] == 500
    assert "Memory limit of 128 MiB exceeded" in standin.request(
        "GET", standin.url + f"/_standin/logs/{PROJECT}/us-central1/worker")[1].decode()
    assert call(standin, url, {"allocate": 16}, id_token)[0] == 200
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(call(standin, url, {"sleep": 1}, id_token)[0]))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 429, 429]




def test_self_signed_jwt_as_bearer(standin):
    """Google's APIs take a service account's own JWT as the bearer (the client libraries send one)."""
    now = int(time.time())
    claims = {"iss": EMAIL, "sub": EMAIL, "aud": "https://cloudfunctions.googleapis.com/", "iat": now,
              "exp": now + 3600}
    assert standin.call("GET", PARENT, token=sign_jwt(standin.key, claims))[0] == 200
    assert standin.call("GET", PARENT, token=sign_jwt(standin.key, dict(claims, aud="https://run.googleapis.com/")))[0] == 401
    assert standin.call("GET", PARENT, token=sign_jwt(standin.other_key, claims))[0] == 401
    assert standin.call("GET", PARENT, token=sign_jwt(standin.key, dict(claims, exp=now - 1)))[0] == 401
