"""Starts the Azure Functions stand-in (azure_standin.py) for a test, with a
tenant, service principals, a subscription, a resource group and two
function apps made here, and gives the test small HTTP helpers that speak
to it as Azure's clients do. Kernel tests import this module too.

    standin = AzureStandin(tmp_path, token_seconds=3599, deploy_seconds=0.3)
    standin.url                      # BASE: authority host and Resource Manager endpoint
    standin.tenant_id / client_id / client_secret     (a Contributor)
    standin.reader_id / reader_secret                 (a Reader), standin.other_tenant_id / other_client_id / ...
    standin.subscription / resource_group
    standin.app / standin.flex_app   # "faaset-app" (Consumption), "faaset-flex" (Flex Consumption, 2048 MB)
    standin.scm_url(app) / standin.host_url(app)      # BASE/APP.scm.azurewebsites.net, BASE/APP.azurewebsites.net
    standin.site_path(app)           # /subscriptions/.../providers/Microsoft.Web/sites/APP
    standin.publish_profile(app)     # path of the app's publish profile XML (APP.PublishSettings)
    standin.publishing_user(app) / publishing_password(app)
    standin.token() -> access token ; standin.arm(method, path, body, token=..., api_version=...) -> (status, json)
    standin.deploy(app, zip_bytes) -> the finished deployment record (zipdeploy on Consumption, One Deploy
                                       /api/publish on Flex) ; standin.call(app, route, ...)
    AzureStandin(tmp_path, tls=True): the stand-in speaks HTTPS itself (url https://127.0.0.1:PORT) with a
                                       certificate from a CA made here, standin.ca_file
    standin.stats() ; standin.logs(app) ; standin.stop()
"""
import base64
import io
import json
import os
import pathlib
import secrets
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import standin_process  # noqa: E402 - tests/support, next to this folder
from tls_terminator import make_certificates  # noqa: E402
API_VERSION = "2024-04-01"
SCOPE = "https://management.azure.com/.default"
APP, FLEX_APP = "faaset-app", "faaset-flex"
RESOURCE_GROUP = "faaset-rg"
HOST_JSON = json.dumps({"version": "2.0", "functionTimeout": "00:00:30"})


def zipped(files):
    """A zip (bytes) of {name: text or bytes}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buffer.getvalue()


def http_function(name, code, auth_level="function", methods=("get", "post"), route=None):
    """The files of a v1 Python HTTP function: NAME/function.json and NAME/__init__.py."""
    trigger = {"authLevel": auth_level, "type": "httpTrigger", "direction": "in", "name": "req",
               "methods": list(methods)}
    if route is not None:
        trigger["route"] = route
    config = {"scriptFile": "__init__.py",
              "bindings": [trigger, {"type": "http", "direction": "out", "name": "$return"}]}
    return {f"{name}/function.json": json.dumps(config), f"{name}/__init__.py": code}


class AzureStandin:
    def __init__(self, folder, token_seconds=3599, deploy_seconds=0.3, max_instances=100, flex_memory_mb=2048,
                 basic_auth=True, tls=False, extra_args=(), python=None):
        self.folder = pathlib.Path(folder)
        folder = self.folder
        self.tenant_id, self.other_tenant_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.tenant_domain = "faaset.onmicrosoft.com"
        self.client_id, self.client_secret = str(uuid.uuid4()), "Qx8~" + secrets.token_urlsafe(30)
        self.reader_id, self.reader_secret = str(uuid.uuid4()), "Rd8~" + secrets.token_urlsafe(30)
        self.other_client_id, self.other_client_secret = str(uuid.uuid4()), "Ot8~" + secrets.token_urlsafe(30)
        self.subscription = str(uuid.uuid4())
        self.resource_group = RESOURCE_GROUP
        self.app, self.flex_app = APP, FLEX_APP
        self.passwords = {APP: secrets.token_urlsafe(45), FLEX_APP: secrets.token_urlsafe(45)}
        config = {
            "tenants": [{"id": self.tenant_id, "domain": self.tenant_domain},
                        {"id": self.other_tenant_id, "domain": "elsewhere.onmicrosoft.com"}],
            "clients": [{"tenant": self.tenant_id, "client_id": self.client_id,
                         "client_secret": self.client_secret, "role": "Contributor"},
                        {"tenant": self.tenant_id, "client_id": self.reader_id,
                         "client_secret": self.reader_secret, "role": "Reader"},
                        {"tenant": self.other_tenant_id, "client_id": self.other_client_id,
                         "client_secret": self.other_client_secret, "role": "Contributor"}],
            "subscriptions": [{"id": self.subscription, "tenant": self.tenant_id,
                               "resource_groups": [RESOURCE_GROUP, "other-rg"]}],
            "apps": [{"subscription": self.subscription, "resource_group": RESOURCE_GROUP, "name": APP,
                      "plan": "Consumption", "maximum_instance_count": max_instances,
                      "publishing_password": self.passwords[APP], "basic_auth": basic_auth},
                     {"subscription": self.subscription, "resource_group": RESOURCE_GROUP, "name": FLEX_APP,
                      "plan": "FlexConsumption", "instance_memory_mb": flex_memory_mb,
                      "maximum_instance_count": max_instances, "publishing_password": self.passwords[FLEX_APP],
                      "basic_auth": basic_auth}]}
        (folder / "azure-standin.json").write_text(json.dumps(config))
        self.ca_file, self.tls_context, tls_args = None, None, []
        if tls:
            self.ca_file, cert, key = make_certificates(folder / "tls")
            self.tls_context = ssl.create_default_context(cafile=str(self.ca_file))
            tls_args = ["--tls-cert", str(cert), "--tls-key", str(key)]
        self.process, self.port = standin_process.start(
            [python or sys.executable, os.path.join(HERE, "azure_standin.py"),
             "--config", str(folder / "azure-standin.json"), "--token-seconds", str(token_seconds),
             "--deploy-seconds", str(deploy_seconds), *tls_args, *extra_args])
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._profiles = {}

    def stop(self):
        """Closing stdin makes the stand-in stop its instances and remove its folder; killed if it lingers."""
        standin_process.stop(self.process)

    # ---- addresses ----

    def scm_url(self, app=APP):
        return f"{self.url}/{app}.scm.azurewebsites.net"

    def host_url(self, app=APP):
        return f"{self.url}/{app}.azurewebsites.net"

    def site_path(self, app=APP):
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.Web/sites/{app}")

    def publishing_user(self, app=APP):
        return f"${app}"

    def publishing_password(self, app=APP):
        return self.passwords[app]

    def publish_profile(self, app=APP):
        """The app's publish profile as the portal downloads it (APP.PublishSettings), fetched through ARM."""
        if app not in self._profiles:
            status, body, _ = self.request("POST", f"{self.url}{self.site_path(app)}/publishxml?api-version="
                                                   f"{API_VERSION}", json.dumps({"format": "WebDeploy"}).encode(),
                                           {"Authorization": f"Bearer {self.token()}",
                                            "Content-Type": "application/json"})
            assert status == 200, body
            path = self.folder / f"{app}.PublishSettings"
            path.write_bytes(body)
            os.chmod(path, 0o600)
            self._profiles[app] = path
        return self._profiles[app]

    # ---- HTTP ----

    def request(self, method, url, body=None, headers=None):
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=60, context=self.tls_context) as answer:
                return answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers

    def token_request(self, form, tenant=None):
        """POST to the tenant's token endpoint: (status, json)."""
        status, body, _ = self.request("POST", f"{self.url}/{tenant or self.tenant_id}/oauth2/v2.0/token",
                                       urllib.parse.urlencode(form).encode(),
                                       {"Content-Type": "application/x-www-form-urlencoded"})
        return status, json.loads(body)

    def token(self, client_id=None, client_secret=None, tenant=None, scope=SCOPE):
        status, body = self.token_request({"grant_type": "client_credentials", "client_id": client_id or self.client_id,
                                           "client_secret": client_secret or self.client_secret, "scope": scope},
                                          tenant)
        assert status == 200, body
        return body["access_token"]

    def arm(self, method, path, body=None, token=None, api_version=API_VERSION):
        """A Resource Manager call with a Contributor's token unless TOKEN ("" for none): (status, json)."""
        token = self.token() if token is None else token
        query = f"?api-version={api_version}" if api_version else ""
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, data, _ = self.request(method, self.url + path + query,
                                       None if body is None else json.dumps(body).encode(), headers)
        return status, (json.loads(data) if data else None)

    def basic(self, app=APP):
        pair = f"{self.publishing_user(app)}:{self.publishing_password(app)}"
        return "Basic " + base64.b64encode(pair.encode()).decode()

    def kudu(self, method, app, path, body=None, authorization=None, headers=None):
        sent = {"Authorization": authorization or self.basic(app)}
        sent.update(headers or {})
        return self.request(method, self.scm_url(app) + path, body, sent)

    def deploy(self, app, data, authorization=None):
        """The package deployed as Azure's tools do it, polled until done: the final deployment record.
        Consumption: POST /api/zipdeploy?isAsync=true. Flex Consumption: POST /api/publish?RemoteBuild=false."""
        path = "/api/publish?RemoteBuild=false" if app == FLEX_APP else "/api/zipdeploy?isAsync=true"
        status, body, headers = self.kudu("POST", app, path, data, authorization, {"Content-Type": "application/zip"})
        assert status == 202, (status, body)
        location = headers["Location"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, body, _ = self.request("GET", location, None, {"Authorization": authorization or self.basic(app)})
            record = json.loads(body)
            assert status in (200, 202), (status, record)
            if record["complete"]:
                return record
            time.sleep(0.05)
        raise AssertionError(f"the deployment at {location} never finished")

    def function_key(self, app, function):
        status, body = self.arm("POST", f"{self.site_path(app)}/functions/{function}/listkeys")
        assert status == 200, body
        return body["default"]

    def call(self, app, route, method="GET", body=None, key=None, headers=None, query=None):
        """A call to APP's function host at /api/ROUTE: (status, body bytes, headers)."""
        sent = dict(headers or {})
        if key:
            sent["x-functions-key"] = key
        url = f"{self.host_url(app)}/api/{route}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        return self.request(method, url, body, sent)

    def stats(self):
        _, body, _ = self.request("GET", f"{self.url}/_standin/stats")
        return json.loads(body)

    def logs(self, app=APP):
        _, body, _ = self.request("GET", f"{self.url}/_standin/logs/{app}")
        return json.loads(body)

    def wait_for_log(self, app, text, seconds=10):
        """The app's log once a line holds TEXT (what a function prints arrives through a pipe)."""
        deadline = time.monotonic() + seconds
        while True:
            lines = self.logs(app)
            if any(text in line for line in lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)
