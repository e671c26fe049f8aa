"""The Azure Functions stand-in (azure_standin.py) checked on its own: it
must refuse what Azure refuses, with Azure's statuses and error bodies, and
run the uploaded code for real (see the stand-in's top comment)."""
import base64
import json
import threading
import time
import urllib.parse

import pytest

from standin_fixture import (APP, FLEX_APP, HOST_JSON, AzureStandin, http_function, zipped)

HELLO = """import os
import azure.functions as func


def main(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    print("hello from", context.function_name, context.invocation_id)
    body = {"name": req.params.get("name", "stranger"), "method": req.method,
            "site": os.environ["WEBSITE_SITE_NAME"], "container": os.environ["CONTAINER_NAME"],
            "greeting": os.environ.get("GREETING"), "pid": os.getpid(),
            "route": dict(req.route_params), "header": req.headers.get("X-Probe"),
            "directory": context.function_directory}
    if req.method == "POST":
        body["json"] = req.get_json()
    return func.HttpResponse(__import__("json").dumps(body), mimetype="application/json", status_code=200)
"""
FAILING = """import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("failed on purpose")
"""
SLEEPER = """import os, time
import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    print("sleeper started")
    marker = req.params.get("until")
    for _ in range(12000):
        if marker and os.path.exists(marker):
            break
        time.sleep(0.05)
    return func.HttpResponse("slept")
"""
HUNGRY = """import azure.functions as func


def main(req: func.HttpRequest) -> func.HttpResponse:
    block = bytearray(int(req.params["mb"]) * 1024 * 1024)
    return func.HttpResponse(str(len(block)))
"""


def app_zip(host_json=HOST_JSON, **functions):
    files = {"host.json": host_json}
    for name, code in functions.items():
        files.update(http_function(name, code))
    return zipped(files)


def deployed(standin, app=APP, **functions):
    record = standin.deploy(app, app_zip(**functions))
    assert record["status"] == 4, record
    return record


def error_code(body):
    return body["error"]["code"]


# ---- Microsoft Entra ID ----

def test_client_credentials_token(standin):
    status, body = standin.token_request({"grant_type": "client_credentials", "client_id": standin.client_id,
                                          "client_secret": standin.client_secret,
                                          "scope": "https://management.azure.com/.default"})
    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["ext_expires_in"] == 3599
    # the tenant's domain names it as well as its id
    assert standin.token(tenant=standin.tenant_domain)
    # the client's id and secret may come as HTTP Basic (client_secret_basic) instead of in the form
    basic = base64.b64encode(f"{standin.client_id}:{standin.client_secret}".encode()).decode()
    form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "scope": "https://management.azure.com/.default"}).encode()
    status, body, _ = standin.request("POST", f"{standin.url}/{standin.tenant_id}/oauth2/v2.0/token", form,
                                      {"Content-Type": "application/x-www-form-urlencoded",
                                       "Authorization": f"Basic {basic}"})
    assert status == 200 and json.loads(body)["access_token"]


@pytest.mark.parametrize("change, status, error, code", [
    ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
    ({"client_secret": ""}, 401, "invalid_client", 7000218),
    ({"client_id": "00000000-0000-0000-0000-000000000000"}, 400, "unauthorized_client", 700016),
    ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
    ({"grant_type": ""}, 400, "invalid_request", 900144),
    ({"scope": "https://management.azure.com/user_impersonation"}, 400, "invalid_scope", 1002012),
    ({"scope": "https://nowhere.example/.default"}, 400, "invalid_resource", 500011),
])
def test_token_refusals_are_aadsts_errors(standin, change, status, error, code):
    form = {"grant_type": "client_credentials", "client_id": standin.client_id,
            "client_secret": standin.client_secret, "scope": "https://management.azure.com/.default"}
    form.update(change)
    got, body = standin.token_request(form)
    assert got == status, body
    assert body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert {"timestamp", "trace_id", "correlation_id", "error_uri"} <= set(body)
    assert standin.client_secret not in json.dumps(body)


def test_unknown_tenant(standin):
    status, body = standin.token_request({"grant_type": "client_credentials", "client_id": standin.client_id,
                                          "client_secret": standin.client_secret,
                                          "scope": "https://management.azure.com/.default"}, tenant="nobody.example")
    assert status == 400 and body["error_codes"] == [90002]
    assert "Tenant 'nobody.example' not found" in body["error_description"]


def test_authority_metadata_for_msal(standin):
    status, body, _ = standin.request("GET", f"{standin.url}/{standin.tenant_id}/v2.0/.well-known/openid-configuration")
    config = json.loads(body)
    assert status == 200
    assert config["token_endpoint"] == f"{standin.url}/{standin.tenant_id}/oauth2/v2.0/token"
    assert config["issuer"] == f"{standin.url}/{standin.tenant_id}/v2.0"
    status, body, _ = standin.request("GET", f"{standin.url}/common/discovery/instance?api-version=1.1&"
                                             f"authorization_endpoint={standin.url}/{standin.tenant_id}/oauth2/v2.0/"
                                             "authorize")
    assert status == 200 and json.loads(body)["metadata"][0]["aliases"] == [standin.url.split("//")[1]]
    status, body, _ = standin.request("GET", f"{standin.url}/common/discovery/instance?api-version=1.1&"
                                             "authorization_endpoint=https://login.example/t/oauth2/v2.0/authorize")
    assert status == 400 and json.loads(body)["error"] == "invalid_instance"


# ---- Resource Manager: who may call ----

def test_arm_needs_a_bearer_token(standin):
    status, body = standin.arm("GET", standin.site_path(), token="")
    assert status == 401 and error_code(body) == "AuthenticationFailed"
    status, body = standin.arm("GET", standin.site_path(), token="not-a-token")
    assert status == 401 and error_code(body) == "InvalidAuthenticationToken"
    graph = standin.token(scope="https://graph.microsoft.com/.default")
    status, body = standin.arm("GET", standin.site_path(), token=graph)
    assert status == 401 and error_code(body) == "InvalidAuthenticationTokenAudience"
    other = standin.token(standin.other_client_id, standin.other_client_secret, standin.other_tenant_id)
    status, body = standin.arm("GET", standin.site_path(), token=other)
    assert status == 401 and error_code(body) == "InvalidAuthenticationTokenTenant"


def test_an_expired_token_is_refused(tmp_path):
    server = AzureStandin(tmp_path, token_seconds=1)
    try:
        token = server.token()
        time.sleep(1.5)
        status, body = server.arm("GET", server.site_path(), token=token)
        assert status == 401 and error_code(body) == "ExpiredAuthenticationToken"
        assert "is earlier than current UTC time" in body["error"]["message"]
    finally:
        server.stop()


def test_api_version_is_required(standin):
    status, body = standin.arm("GET", standin.site_path(), api_version=None)
    assert status == 400 and error_code(body) == "MissingApiVersionParameter"
    status, body = standin.arm("GET", standin.site_path(), api_version="latest")
    assert status == 400 and error_code(body) == "InvalidApiVersionParameter"
    status, body = standin.arm("GET", standin.site_path(), api_version="2099-01-01")
    assert status == 400 and error_code(body) == "NoRegisteredProviderFound"


def test_not_found_subscription_group_site_function(standin):
    base = standin.site_path()
    status, body = standin.arm("GET", base.replace(standin.subscription, "11111111-2222-3333-4444-555555555555"))
    assert status == 404 and error_code(body) == "SubscriptionNotFound"
    status, body = standin.arm("GET", base.replace("faaset-rg", "missing-rg"))
    assert status == 404 and error_code(body) == "ResourceGroupNotFound"
    status, body = standin.arm("GET", base.replace("faaset-rg", "other-rg"))
    assert status == 404 and error_code(body) == "ResourceNotFound"
    status, body = standin.arm("GET", base.replace(APP, "no-such-app"))
    assert status == 404 and error_code(body) == "ResourceNotFound"
    status, body = standin.arm("GET", f"{base}/functions/nothing")
    assert status == 404 and error_code(body) == "NotFound"


def test_a_reader_reads_but_may_not_list_keys_or_write(standin):
    reader = standin.token(standin.reader_id, standin.reader_secret)
    assert standin.arm("GET", standin.site_path(), token=reader)[0] == 200
    for method, path, body in (("POST", "/host/default/listkeys", None), ("POST", "/config/appsettings/list", None),
                               ("PUT", "/config/appsettings", {"properties": {}}), ("POST", "/publishxml", {})):
        status, answer = standin.arm(method, standin.site_path() + path, body, token=reader)
        assert status == 403 and error_code(answer) == "AuthorizationFailed", path
        assert standin.reader_id in answer["error"]["message"]


# ---- Resource Manager: the function app ----

def test_plans_and_instance_memory(standin):
    status, site = standin.arm("GET", standin.site_path())
    assert status == 200 and site["properties"]["sku"] == "Dynamic"
    assert site["properties"]["functionAppConfig"] is None
    status, plan = standin.arm("GET", site["properties"]["serverFarmId"])
    assert status == 200 and plan["sku"]["tier"] == "Dynamic"
    flex = standin.site_path(FLEX_APP)
    status, site = standin.arm("GET", flex)
    assert site["properties"]["sku"] == "FlexConsumption"
    assert site["properties"]["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"] == 2048
    patch = {"properties": {"functionAppConfig": {"scaleAndConcurrency": {"instanceMemoryMB": 4096}}}}
    status, site = standin.arm("PATCH", flex, patch)
    assert status == 200, site
    assert site["properties"]["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"] == 4096
    for size in (1024, 1536, 8192):
        patch["properties"]["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"] = size
        status, body = standin.arm("PATCH", flex, patch)
        assert status == 400 and "512, 2048, 4096" in body["error"]["message"], size
    patch["properties"]["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"] = 512
    status, body = standin.arm("PATCH", standin.site_path(), patch)
    assert status == 400 and "Flex Consumption" in body["error"]["message"]
    # before 2023-12-01 Microsoft.Web has no functionAppConfig
    status, body = standin.arm("PATCH", flex, patch, api_version="2022-03-01")
    assert status == 400 and error_code(body) == "InvalidRequestContent"
    status, site = standin.arm("GET", flex, api_version="2022-03-01")
    assert "functionAppConfig" not in site["properties"]


def test_app_settings_list_and_replace(standin):
    status, settings = standin.arm("POST", standin.site_path() + "/config/appsettings/list")
    assert status == 200 and settings["properties"]["FUNCTIONS_WORKER_RUNTIME"] == "python"
    new = dict(settings["properties"], GREETING="hej")
    status, body = standin.arm("PUT", standin.site_path() + "/config/appsettings", {"properties": new})
    assert status == 200 and body["properties"]["GREETING"] == "hej"
    status, body = standin.arm("PUT", standin.site_path() + "/config/appsettings", {"properties": {"N": 1}})
    assert status == 400 and error_code(body) == "InvalidRequestContent"
    status, body, _ = standin.request("PUT", f"{standin.url}{standin.site_path()}/config/appsettings?api-version="
                                             "2024-04-01", b"GREETING=hej",
                                      {"Authorization": f"Bearer {standin.token()}", "Content-Type": "text/plain"})
    assert status == 415 and error_code(json.loads(body)) == "UnsupportedMediaType"
    status, body = standin.arm("PUT", standin.site_path(FLEX_APP) + "/config/appsettings",
                               {"properties": {"FUNCTIONS_WORKER_RUNTIME": "python"}})
    assert status == 400 and "Flex Consumption" in body["error"]["message"]


def test_publish_profile(standin):
    text = standin.publish_profile().read_text()
    assert 'publishMethod="ZipDeploy"' in text
    assert f'userName="${APP}"' in text and f'userPWD="{standin.publishing_password()}"' in text


# ---- Kudu ----

def test_zipdeploy_async_is_polled_to_success_and_discovers_functions(tmp_path):
    gate = tmp_path / "deployments-may-end"
    server = AzureStandin(tmp_path, extra_args=["--deploy-gate", str(gate)])
    try:
        status, body, headers = server.kudu("POST", APP, "/api/zipdeploy?isAsync=true", app_zip(hello=HELLO),
                                            headers={"Content-Type": "application/zip"})
        assert status == 202, body
        location = headers["Location"]
        assert location.startswith(server.scm_url() + "/api/deployments/latest")
        status, body, _ = server.request("GET", location, None, {"Authorization": server.basic()})
        assert status == 202 and json.loads(body)["complete"] is False
        status, body, _ = server.kudu("POST", APP, "/api/zipdeploy?isAsync=true", app_zip(hello=HELLO))
        assert status == 409
        gate.write_text("")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, body, _ = server.request("GET", location, None, {"Authorization": server.basic()})
            record = json.loads(body)
            if status == 200:
                break
            time.sleep(0.05)
        assert record["status"] == 4 and record["complete"] and record["active"]
        status, body, _ = server.request("GET", record["log_url"], None, {"Authorization": server.basic()})
        assert status == 200 and any("Deployment successful" in e["message"] for e in json.loads(body))
        status, body, _ = server.kudu("GET", APP, f"/api/deployments/{record['id']}")
        assert status == 200 and json.loads(body)["id"] == record["id"]
        status, functions = server.arm("GET", server.site_path() + "/functions")
        assert [f["properties"]["name"] for f in functions["value"]] == ["hello"]
        assert functions["value"][0]["name"] == f"{APP}/hello"
        assert functions["value"][0]["properties"]["invoke_url_template"].endswith("/api/hello")
    finally:
        server.stop()


def test_flex_deploys_with_one_deploy_and_answers_200_while_it_runs(tmp_path):
    gate = tmp_path / "deployments-may-end"
    server = AzureStandin(tmp_path, extra_args=["--deploy-gate", str(gate)])
    try:
        data = app_zip(hello=HELLO)
        status, body, _ = server.kudu("POST", FLEX_APP, "/api/zipdeploy?isAsync=true", data)
        assert status == 400 and b"/api/publish" in body
        status, body, _ = server.kudu("POST", APP, "/api/publish?RemoteBuild=false", data,
                                      headers={"Content-Type": "application/zip"})
        assert status == 400 and b"/api/zipdeploy" in body
        status, _, _ = server.kudu("POST", FLEX_APP, "/api/publish?RemoteBuild=false", data,
                                   headers={"Content-Type": "application/octet-stream"})
        assert status == 415
        status, body, headers = server.kudu("POST", FLEX_APP, "/api/publish?RemoteBuild=false", data,
                                            headers={"Content-Type": "application/zip"})
        assert status == 202
        deployment = json.loads(body)
        assert headers["Location"] == f"{server.scm_url(FLEX_APP)}/api/deployments/{deployment}"
        status, body, _ = server.kudu("GET", FLEX_APP, f"/api/deployments/{deployment}")
        assert status == 200 and json.loads(body)["complete"] is False
        gate.write_text("")
        deadline = time.monotonic() + 60
        while not json.loads(server.kudu("GET", FLEX_APP, "/api/deployments/latest")[1])["complete"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        record = server.deploy(FLEX_APP, data)
        assert record["status"] == 4 and record["deployer"] == "OneDeploy"
    finally:
        server.stop()


def test_synchronous_zipdeploy(standin):
    status, body, _ = standin.kudu("POST", APP, "/api/zipdeploy", app_zip(hello=HELLO))
    assert status == 200, body
    status, body, _ = standin.kudu("POST", APP, "/api/zipdeploy", zipped({"hello/__init__.py": HELLO}))
    assert status == 400 and b"host.json" in body


def test_host_json_is_required(standin):
    record = standin.deploy(APP, zipped(http_function("hello", HELLO)))
    assert record["status"] == 3 and "host.json" in record["status_text"]
    status, body, _ = standin.request("GET", record["log_url"], None, {"Authorization": standin.basic()})
    assert any(e["type"] == 2 and "host.json" in e["message"] for e in json.loads(body))
    record = standin.deploy(APP, b"this is not a zip")
    assert record["status"] == 3
    assert standin.stats()["deployments_failed"] == 2


def test_files_not_in_the_new_zip_are_removed(standin):
    first = {"host.json": HOST_JSON, "old.txt": "old", **http_function("hello", HELLO),
             **http_function("bye", HELLO)}
    assert standin.deploy(APP, zipped(first))["status"] == 4
    status, body, _ = standin.kudu("GET", APP, "/api/vfs/site/wwwroot/old.txt")
    assert status == 200 and body == b"old"
    assert standin.deploy(APP, app_zip(hello=HELLO))["status"] == 4
    status, _, _ = standin.kudu("GET", APP, "/api/vfs/site/wwwroot/old.txt")
    assert status == 404
    status, listing, _ = standin.kudu("GET", APP, "/api/vfs/site/wwwroot/")
    assert sorted(e["name"] for e in json.loads(listing)) == ["hello", "host.json"]
    status, functions = standin.arm("GET", standin.site_path() + "/functions")
    assert [f["properties"]["name"] for f in functions["value"]] == ["hello"]
    assert standin.arm("POST", standin.site_path() + "/functions/bye/listkeys")[0] == 404


def test_kudu_credentials(tmp_path):
    server = AzureStandin(tmp_path, basic_auth=False)
    try:
        data = app_zip(hello=HELLO)
        status, _, headers = server.kudu("POST", APP, "/api/zipdeploy?isAsync=true", data)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")  # basic auth is off on this app
        record = server.deploy(APP, data, authorization=f"Bearer {server.token()}")
        assert record["status"] == 4
        reader = server.token(server.reader_id, server.reader_secret)
        assert server.kudu("POST", APP, "/api/zipdeploy", data, f"Bearer {reader}")[0] == 403
    finally:
        server.stop()
    standin = AzureStandin(tmp_path)
    try:
        wrong = "Basic " + base64.b64encode(f"${APP}:wrong".encode()).decode()
        assert standin.kudu("POST", APP, "/api/zipdeploy", b"", wrong)[0] == 401
        other = standin.basic(FLEX_APP)  # another app's publishing credentials
        assert standin.kudu("POST", APP, "/api/zipdeploy", b"", other)[0] == 401
    finally:
        standin.stop()


# ---- the Functions host ----

def test_function_keys_and_401(standin):
    deployed(standin, hello=HELLO)
    status, keys = standin.arm("POST", standin.site_path() + "/host/default/listkeys")
    assert status == 200 and set(keys) == {"masterKey", "functionKeys", "systemKeys"}
    function_key = standin.function_key(APP, "hello")
    assert standin.call(APP, "hello")[:2] == (401, b"")
    assert standin.call(APP, "hello", key="wrong")[0] == 401
    assert standin.call(APP, "hello", key=function_key)[0] == 200
    assert standin.call(APP, "hello", query={"code": function_key})[0] == 200
    assert standin.call(APP, "hello", key=keys["functionKeys"]["default"])[0] == 200
    assert standin.call(APP, "hello", key=keys["masterKey"])[0] == 200
    assert standin.stats()["unauthorized_401"] == 2
    # another deployment keeps the function's key
    deployed(standin, hello=HELLO)
    assert standin.function_key(APP, "hello") == function_key


def test_auth_levels_methods_and_routes(standin):
    files = {"host.json": HOST_JSON,
             **http_function("open", HELLO, auth_level="anonymous", methods=("post",), route="items/{id}"),
             **http_function("admin", HELLO, auth_level="admin")}
    assert standin.deploy(APP, zipped(files))["status"] == 4
    status, body, _ = standin.call(APP, "items/42", "POST", json.dumps({"x": 1}).encode())
    assert status == 200, body
    answer = json.loads(body)
    assert answer["route"] == {"id": "42"} and answer["json"] == {"x": 1} and answer["method"] == "POST"
    assert standin.call(APP, "items/42", "GET")[0] == 404
    assert standin.call(APP, "nothing")[0] == 404
    _, keys = standin.arm("POST", standin.site_path() + "/host/default/listkeys")
    assert standin.call(APP, "admin", key=standin.function_key(APP, "admin"))[0] == 401
    assert standin.call(APP, "admin", key=keys["masterKey"])[0] == 200


def test_the_route_prefix_comes_from_host_json(standin):
    host_json = json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": ""}}})
    standin.deploy(APP, zipped({"host.json": host_json, **http_function("hello", HELLO, auth_level="anonymous")}))
    assert standin.request("GET", f"{standin.host_url()}/hello")[0] == 200
    assert standin.request("GET", f"{standin.host_url()}/api/hello")[0] == 404


def test_code_runs_for_real_cold_then_warm_with_app_settings(standin):
    deployed(standin, hello=HELLO)
    key = standin.function_key(APP, "hello")
    status, body, headers = standin.call(APP, "hello", key=key, query={"name": "Ann"},
                                         headers={"X-Probe": "probe"})
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    first = json.loads(body)
    assert first["name"] == "Ann" and first["site"] == APP and first["header"] == "probe" and first["container"]
    assert first["directory"].endswith("/hello") and first["greeting"] is None
    second = json.loads(standin.call(APP, "hello", key=key)[1])
    assert second["pid"] == first["pid"]  # warm
    lines = standin.wait_for_log(APP, "hello from hello")
    assert any("Executed 'Functions.hello' (Succeeded" in line for line in lines)
    status, settings = standin.arm("POST", standin.site_path() + "/config/appsettings/list")
    settings["properties"]["GREETING"] = "hej"
    assert standin.arm("PUT", standin.site_path() + "/config/appsettings", {"properties": settings["properties"]})[0] \
        == 200
    third = json.loads(standin.call(APP, "hello", key=key)[1])
    assert third["greeting"] == "hej" and third["pid"] != first["pid"]  # settings restart the instances
    assert standin.stats()["cold_starts"] == 2 and standin.stats()["warm_starts"] == 1


def test_an_idle_instance_is_let_go(tmp_path):
    server = AzureStandin(tmp_path, extra_args=["--idle-seconds", "0.5"])
    try:
        deployed(server, hello=HELLO)
        key = server.function_key(APP, "hello")
        first = json.loads(server.call(APP, "hello", key=key)[1])
        time.sleep(1)  # idle for longer than --idle-seconds
        second = json.loads(server.call(APP, "hello", key=key)[1])
        assert second["pid"] != first["pid"] and server.stats()["cold_starts"] == 2
    finally:
        server.stop()


def test_an_exception_is_a_500_with_the_traceback_in_the_log(standin):
    deployed(standin, boom=FAILING)
    status, body, _ = standin.call(APP, "boom", key=standin.function_key(APP, "boom"))
    assert (status, body) == (500, b"")
    lines = standin.wait_for_log(APP, "failed on purpose")
    assert any("Executed 'Functions.boom' (Failed" in line for line in lines)
    assert any("RuntimeError: failed on purpose" in line for line in lines)


def test_a_function_that_cannot_load_fails_its_calls(standin):
    deployed(standin, broken="import nothing_of_that_name\n", hello=HELLO)
    assert standin.call(APP, "broken", key=standin.function_key(APP, "broken"))[0] == 500
    assert standin.call(APP, "hello", key=standin.function_key(APP, "hello"))[0] == 200
    assert any("ModuleNotFoundError" in line for line in standin.logs(APP))


def test_the_admin_api_takes_the_master_key(standin):
    deployed(standin, hello=HELLO)
    _, keys = standin.arm("POST", standin.site_path() + "/host/default/listkeys")
    status, body, _ = standin.request("GET", standin.host_url() + "/admin/host/status",
                                      headers={"x-functions-key": keys["masterKey"]})
    assert status == 200 and json.loads(body)["state"] == "Running"
    status, body, _ = standin.request("GET", standin.host_url() + "/admin/functions?code=" + keys["masterKey"])
    assert status == 200 and [f["name"] for f in json.loads(body)] == ["hello"]
    status, _, _ = standin.request("GET", standin.host_url() + "/admin/host/status",
                                   headers={"x-functions-key": keys["functionKeys"]["default"]})
    assert status == 401
    standin.deploy(APP, app_zip(host_json="{}", hello=HELLO))
    status, body, _ = standin.request("GET", standin.host_url() + "/admin/host/status",
                                      headers={"x-functions-key": keys["masterKey"]})
    assert json.loads(body)["state"] == "Error" and "version" in json.loads(body)["errors"][0]


def test_over_tls(tmp_path):
    server = AzureStandin(tmp_path, tls=True)
    try:
        assert server.url.startswith("https://")
        assert server.arm("GET", server.site_path())[0] == 200
        deployed(server, hello=HELLO)
        assert server.call(APP, "hello", key=server.function_key(APP, "hello"))[0] == 200
    finally:
        server.stop()


def test_function_timeout(standin):
    record = standin.deploy(APP, app_zip(host_json=json.dumps({"version": "2.0", "functionTimeout": "00:00:01"}),
                                            sleeper=SLEEPER))
    assert record["status"] == 4
    # the sleeper, without its marker, sleeps ten minutes: only the timeout ends this call
    status, _, _ = standin.call(APP, "sleeper", key=standin.function_key(APP, "sleeper"))
    assert status == 500
    assert standin.stats()["timeouts"] == 1
    assert any("Timeout value of 00:00:01 exceeded" in line for line in standin.logs(APP))


@pytest.mark.parametrize("host_json", [json.dumps({"functionTimeout": "00:01:00"}),
                                       json.dumps({"version": "2.0", "functionTimeout": "00:20:00"}),
                                       "{not json"])
def test_a_bad_host_json_leaves_the_host_not_running(standin, host_json):
    assert standin.deploy(APP, app_zip(host_json=host_json, hello=HELLO))["status"] == 4
    assert standin.call(APP, "hello", key=standin.function_key(APP, "hello"))[0] == 503


def test_flex_allows_longer_timeouts_and_sets_the_worker_runtime(standin):
    host_json = json.dumps({"version": "2.0", "functionTimeout": "00:20:00"})
    code = HELLO.replace('os.environ["CONTAINER_NAME"]', 'os.environ["FUNCTIONS_WORKER_RUNTIME"]')
    assert standin.deploy(FLEX_APP, app_zip(host_json=host_json, hello=code))["status"] == 4
    status, body, _ = standin.call(FLEX_APP, "hello", key=standin.function_key(FLEX_APP, "hello"))
    assert status == 200 and json.loads(body)["container"] == "python"


def test_memory_is_the_flex_instance_size(standin):
    patch = {"properties": {"functionAppConfig": {"scaleAndConcurrency": {"instanceMemoryMB": 512}}}}
    assert standin.arm("PATCH", standin.site_path(FLEX_APP), patch)[0] == 200
    deployed(standin, FLEX_APP, hungry=HUNGRY)
    status, _, _ = standin.call(FLEX_APP, "hungry", key=standin.function_key(FLEX_APP, "hungry"),
                                query={"mb": "700"})
    assert status == 500
    assert any("out of memory (512 MB)" in line for line in standin.logs(FLEX_APP))


def test_more_calls_than_instances_are_429(tmp_path):
    server = AzureStandin(tmp_path, max_instances=1)
    try:
        deployed(server, sleeper=SLEEPER)
        key = server.function_key(APP, "sleeper")
        marker = tmp_path / "release"
        results = []
        first = threading.Thread(target=lambda: results.append(
            server.call(APP, "sleeper", key=key, query={"until": str(marker)})[0]))
        first.start()
        assert any("sleeper started" in line for line in server.wait_for_log(APP, "sleeper started", 60))
        assert server.call(APP, "sleeper", key=key, query={"until": str(marker)})[0] == 429
        marker.write_text("go")
        first.join(60)
        assert results == [200]
        assert server.stats()["throttled_429"] == 1
    finally:
        server.stop()


def test_delete_function(standin):
    deployed(standin, hello=HELLO, bye=HELLO)
    status, _ = standin.arm("DELETE", standin.site_path() + "/functions/bye")
    assert status == 204
    assert standin.arm("GET", standin.site_path() + "/functions/bye")[0] == 404
    status, functions = standin.arm("GET", standin.site_path() + "/functions")
    assert [f["properties"]["name"] for f in functions["value"]] == ["hello"]
    assert standin.call(APP, "bye", key=standin.function_key(APP, "hello"))[0] == 404
