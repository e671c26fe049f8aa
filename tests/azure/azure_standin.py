"""A stand-in for Azure Functions and what deploying to it touches: the
Microsoft Entra ID token endpoint, Azure Resource Manager's
Microsoft.Web/sites, the app's Kudu (scm) site and the Functions host that
runs the uploaded code, as strict as Azure, in one process on loopback.
Built from /work/shared/platform-api.md's facts and Microsoft's public
references; the token flow is checked by Microsoft's own @azure/identity
(tests/azure/node).

    python3 azure_standin.py --config FILE [--port 0] [--public-url URL]
                             [--token-seconds 3599] [--deploy-seconds 1.0]
                             [--deploy-gate PATH] [--idle-seconds 1200]
                             [--tls-cert PEM --tls-key PEM] [--watch-stdin]

prints its port on the first line of stdout and serves until killed (with
--watch-stdin also until stdin closes, so it never outlives its test).
--public-url is the address clients see (a TLS terminator's); with
--tls-cert/--tls-key the stand-in speaks HTTPS itself (@azure/identity
insists on https for an authority). FILE is JSON written by the test:

    {"tenants": [{"id": GUID, "domain": "x.onmicrosoft.com"}],
     "clients": [{"tenant", "client_id", "client_secret", "role": "Contributor" | "Reader"}],
     "subscriptions": [{"id", "tenant", "resource_groups": [NAME, ...]}],
     "apps": [{"subscription", "resource_group", "name", "plan": "Consumption" | "FlexConsumption",
               "location"?, "instance_memory_mb"? (Flex: 512/2048/4096, default 2048),
               "maximum_instance_count"? (default 100; more calls at once are 429),
               "publishing_password", "basic_auth"? (default true), "app_settings"? {NAME: VALUE}}]}

How a client points at it (BASE is the public URL, e.g. http://127.0.0.1:PORT;
the first path segment names the Azure host a request would go to):

    Entra ID authority host   BASE                 token: BASE/{tenant}/oauth2/v2.0/token
    Resource Manager          BASE                 BASE/subscriptions/{s}/resourceGroups/{rg}/providers/
                                                   Microsoft.Web/sites/{app}?api-version=2024-04-01
    Kudu (scm) of APP         BASE/APP.scm.azurewebsites.net     .../api/zipdeploy?isAsync=true (Consumption),
                                                                 .../api/publish?RemoteBuild=false (Flex)
    Functions host of APP     BASE/APP.azurewebsites.net         .../api/{route}
    Test-only                 BASE/_standin/stats, BASE/_standin/logs/{app}

What it checks, as Azure does:

- Entra ID (login.microsoftonline.com). POST /{tenant}/oauth2/v2.0/token,
  form-encoded, grant_type client_credentials, client_id, client_secret
  (in the form or as HTTP Basic) and scope RESOURCE/.default; the tenant is
  its id or its domain. Errors are Entra's {"error", "error_description"
  ("AADSTSnnn: ..."), "error_codes", "timestamp", "trace_id",
  "correlation_id", "error_uri"}: unknown tenant AADSTS90002 (400), unknown
  client AADSTS700016 (400 unauthorized_client), wrong secret AADSTS7000215
  (401 invalid_client), no secret AADSTS7000218, a scope without /.default
  AADSTS1002012, an unknown resource AADSTS500011, a missing parameter
  AADSTS900144, another grant AADSTS70003. The answer is {"token_type":
  "Bearer", "expires_in", "ext_expires_in", "access_token"}: a JWT (HS256,
  the stand-in's key) with aud, iss, tid, appid, oid, iat, nbf, exp
  (--token-seconds). For MSAL (@azure/identity): GET
  /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/discovery/v2.0/keys
  and /common/discovery/instance?authorization_endpoint=... (instance
  discovery: this host is a known instance, any other is invalid_instance).
- Resource Manager (management.azure.com). Every call needs a live bearer
  token for https://management.azure.com/ (or management.core.windows.net):
  401 AuthenticationFailed without one, InvalidAuthenticationToken,
  ExpiredAuthenticationToken, InvalidAuthenticationTokenAudience, and
  InvalidAuthenticationTokenTenant when the subscription is in another
  tenant; api-version is required (400 MissingApiVersionParameter,
  InvalidApiVersionParameter, NoRegisteredProviderFound for a version
  Microsoft.Web does not have); 404 SubscriptionNotFound,
  ResourceGroupNotFound, ResourceNotFound; a Reader's writes and key lists
  are 403 AuthorizationFailed; a body that is not application/json is 415
  UnsupportedMediaType. Errors are {"error": {"code", "message"}}.
  Under .../providers/Microsoft.Web/sites/{app}: GET (the site, with
  properties.sku "Dynamic" on Consumption or "FlexConsumption", and for
  Flex, from api-version 2023-12-01, properties.functionAppConfig.
  scaleAndConcurrency {instanceMemoryMB, maximumInstanceCount}); PATCH of
  that functionAppConfig (instanceMemoryMB only 512, 2048 or 4096; refused
  on Consumption, which has no memory setting; a change restarts the
  instances); GET functions (list, {"value": [...]}) and functions/{name}
  (envelopes with properties.config = the function.json and
  invoke_url_template); DELETE functions/{name} (its folder and keys go);
  POST functions/{name}/listkeys ({"default": KEY}); POST
  host/default/listkeys ({"masterKey", "functionKeys": {"default"},
  "systemKeys"}); POST config/appsettings/list and PUT config/appsettings
  ({"properties": {NAME: VALUE}}, the whole set; values are strings; Flex
  refuses FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION; a
  change restarts the instances); POST publishxml (the publish profile XML
  with the ZipDeploy user "$APP" and its password). Also GET
  .../providers/Microsoft.Web/serverfarms/{plan} (sku Y1/Dynamic or
  FC1/FlexConsumption).
- Kudu (APP.scm.azurewebsites.net): HTTP Basic with the publish profile's
  user and password (401 when the app has basic auth turned off) or a
  bearer token of a Contributor. Consumption apps take POST
  /api/zipdeploy[?isAsync=true] with the zip: async is 202 with a Location
  (/api/deployments/latest) to poll; without isAsync the call waits and
  answers 200 (or 400 with the failure). Flex Consumption apps do not take
  zip deploy (400): they take One Deploy, POST /api/publish?RemoteBuild=false
  with Content-Type application/zip (415 otherwise; the stand-in runs no
  remote build, so RemoteBuild=true is 400), answered 202 with the
  deployment id as a JSON string and a Location (/api/deployments/{id});
  /api/publish on a Consumption app is 400. Another deployment while one
  runs is 409. A deployment takes --deploy-seconds (and, for tests that
  look at one still running, does not end before the file --deploy-gate
  names exists); GET
  /api/deployments/{id|latest} answers, on Consumption, 202 while it runs
  and 200 when done, and on Flex 200 throughout (the body's `complete`
  says), status 4 (success) or 3 (failed, status_text and the log say
  why), with log_url (GET .../{id}/log: [{log_time, id, message, type}]).
  The zip must hold host.json at its root; wwwroot becomes exactly the
  zip (files not in it are removed). Functions are
  the folders with a function.json holding one httpTrigger binding
  (authLevel anonymous, function or admin; methods; route) and an http
  output binding $return; scriptFile defaults to __init__.py, entryPoint
  to main. A new function gets a "default" key. GET /api/vfs/site/wwwroot/PATH
  reads the files (a folder lists as JSON).
- The Functions host (APP.azurewebsites.net): /{routePrefix}/{route}
  (routePrefix from host.json's extensions.http, default api), by method
  and route (literal segments match case-insensitively; {name} and
  {name?} are route_params). authLevel function takes the function's key,
  a host function key or the master key, admin only the master key, in
  x-functions-key or ?code= (401 without a valid one, empty body, as the
  host answers). The code runs for real: an instance is a fresh Python
  process (azure_function_host.py, with the stand-in's azure.functions and
  its own TMPDIR) started on a cold start and reused warm, one request at a time, and let
  go after --idle-seconds without a request (Azure scales an idle app in;
  the next call is cold again); more requests at once than
  maximum_instance_count are 429. Its environment is
  the app settings plus WEBSITE_SITE_NAME, WEBSITE_HOSTNAME, WEBSITE_SKU,
  WEBSITE_INSTANCE_ID, WEBSITE_RESOURCE_GROUP and CONTAINER_NAME (and
  FUNCTIONS_WORKER_RUNTIME=python on Flex, set by the platform there).
  The admin API takes the master key: GET /admin/host/status ({"state":
  "Running" or "Error", "errors"}) and GET /admin/functions.
  host.json's functionTimeout (default 5 min on Consumption, at most 10;
  30 min on Flex) ends a call: 500, the instance is killed, the log says
  "Timeout value of ... exceeded". An exception or a function that failed
  to load is 500 with an empty body and the traceback in the log. Memory
  is capped at the instance size (Consumption 1536 MB, Flex
  instanceMemoryMB). A host.json without version "2.0", or with a
  functionTimeout out of range, leaves the host not running (503).

Test-only: GET /_standin/stats (counters: tokens_issued, token_refusals,
deployments, deployments_failed, cold_starts, warm_starts, invocations,
throttled_429, timeouts, unauthorized_401), GET /_standin/logs/{app} (the
app's log lines as JSON, as its log stream would show them).
"""
import argparse
import base64
import binascii
import hashlib
import hmac
import http.server
import io
import json
import os
import re
import secrets
import select
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import zipfile
from xml.sax.saxutils import quoteattr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "support"))
import standin_process  # noqa: E402  (tests/support: the port line, --watch-stdin, the clean-up)

HERE = os.path.dirname(os.path.abspath(__file__))
HOST_SCRIPT = os.path.join(HERE, "azure_function_host.py")
WORKER_LIB = os.path.join(HERE, "worker_lib")
ARM_AUDIENCES = {"https://management.azure.com/", "https://management.azure.com",
                 "https://management.core.windows.net/", "https://management.core.windows.net"}
RESOURCES = ARM_AUDIENCES | {"https://graph.microsoft.com", "https://graph.microsoft.com/",
                             "https://storage.azure.com", "https://storage.azure.com/"}
WEB_API_VERSIONS = ["2016-08-01", "2018-02-01", "2018-11-01", "2019-08-01", "2020-06-01", "2020-09-01",
                    "2020-10-01", "2020-12-01", "2021-01-01", "2021-01-15", "2021-02-01", "2021-03-01",
                    "2022-03-01", "2022-09-01", "2023-01-01", "2023-12-01", "2024-04-01", "2024-11-01"]
FUNCTION_APP_CONFIG_SINCE = "2023-12-01"
API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
FLEX_MEMORY_MB = (512, 2048, 4096)
CONSUMPTION_MEMORY_MB = 1536
FLEX_REFUSED_SETTINGS = ("FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION")
AUTH_LEVELS = ("anonymous", "function", "admin")
HTTP_METHODS = ("get", "post", "put", "delete", "patch", "head", "options", "trace")
KUDU_SUCCESS, KUDU_FAILED, KUDU_BUILDING = 4, 3, 1
MAX_BODY = 512 * 1024 * 1024


class Answer(Exception):
    """An HTTP answer ready to send: status, body (dict/list as JSON, str, bytes or None) and headers."""

    def __init__(self, status, body=None, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, dict(headers or {})


def arm_error(status, code, message, headers=None):
    return Answer(status, {"error": {"code": code, "message": message}}, headers)


def utc_iso(seconds=None):
    seconds = time.time() if seconds is None else seconds
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1e7):07d}Z"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_timespan(text):
    """host.json's functionTimeout ("hh:mm:ss" or "d.hh:mm:ss", "-1" for none): seconds, None for none."""
    if text == "-1":
        return None
    match = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2}(?:\.\d+)?)", text or "")
    if not match:
        raise ValueError(f"The functionTimeout value '{text}' is not a TimeSpan (use hh:mm:ss).")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


class Tokens:
    """Access tokens: JWTs signed (HS256) with a key made at start, so only this process's tokens verify."""

    def __init__(self, public_url, lifetime):
        self.key, self.public_url, self.lifetime = secrets.token_bytes(32), public_url, lifetime

    def issue(self, tenant, client, resource):
        now = int(time.time())
        claims = {"aud": resource,
                  "iss": f"https://sts.windows.net/{tenant['id']}/", "iat": now, "nbf": now,
                  "exp": now + self.lifetime, "appid": client["client_id"], "appidacr": "1", "idtyp": "app",
                  "oid": client["object_id"], "sub": client["object_id"], "tid": tenant["id"], "ver": "1.0"}
        header = b64url(json.dumps({"typ": "JWT", "alg": "HS256", "kid": "standin"}).encode())
        body = b64url(json.dumps(claims).encode())
        signature = hmac.new(self.key, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{b64url(signature)}"

    def verify(self, token):
        """The claims of a token this process issued, else None (expiry is the caller's to check)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(self.key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(expected, b64url_decode(parts[2])):
                return None
            return json.loads(b64url_decode(parts[1]))
        except (binascii.Error, ValueError):
            return None


class Instance:
    """One Python process running one version of an app's code; one request at a time."""

    def __init__(self, app, version, log):
        self.version, self.busy, self.dead, self.load_errors = version, True, False, {}
        self.idle_since = time.monotonic()
        self.container = f"{secrets.token_hex(4).upper()}-{int(time.time() * 1e7)}"
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1",
               "PYTHONUNBUFFERED": "1", "HOME": version["root"]}
        env.update(app.settings)
        env.update({"WEBSITE_SITE_NAME": app.name, "WEBSITE_HOSTNAME": f"{app.name}.azurewebsites.net",
                    "WEBSITE_SKU": app.sku, "WEBSITE_RESOURCE_GROUP": app.resource_group,
                    "WEBSITE_INSTANCE_ID": secrets.token_hex(32), "CONTAINER_NAME": self.container})
        # the instance's own temporary folder: SAAF's container id in it says cold or warm
        self.tmp = env["TMPDIR"] = tempfile.mkdtemp(prefix="instance-tmp-", dir=os.path.dirname(version["root"]))
        if app.flex:
            env["FUNCTIONS_WORKER_RUNTIME"] = "python"
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, HOST_SCRIPT, version["root"], WORKER_LIB, str(app.memory_mb() * 1024 * 1024),
             str(write_fd)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=version["root"],
            pass_fds=(write_fd,), start_new_session=True)
        os.close(write_fd)
        self.reply = os.fdopen(read_fd, "rb")
        for level, stream in (("Information", self.process.stdout), ("Error", self.process.stderr)):
            threading.Thread(target=self._read_log, args=(level, stream, log), daemon=True).start()
        listing = [{"name": f["name"], "directory": f["directory"], "script": f["script"], "entry": f["entry"],
                    "trigger": f["trigger"]} for f in version["functions"].values()]
        self.send(listing)

    @staticmethod
    def _read_log(level, stream, log):
        for raw in stream:
            log(level, raw.decode(errors="replace").rstrip("\n"))

    def send(self, message):
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
            return True
        except (BrokenPipeError, ValueError):
            return False

    def read_reply(self, deadline):
        """The next answer line, None when DEADLINE (monotonic, or None for none) passed, {} when the process ended."""
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and (left <= 0 or not select.select([self.reply], [], [], left)[0]):
            return None
        line = self.reply.readline()
        return json.loads(line) if line else {}

    def alive(self):
        return not self.dead and self.process.poll() is None

    def stop(self):
        self.dead = True
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.reply):
            try:
                stream.close()
            except OSError:  # a request the instance never read: the pipe is broken
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)


class App:
    """A function app: its plan, settings, keys, deployments, the deployed version and its instances."""

    def __init__(self, record, workdir):
        self.name = record["name"]
        self.subscription, self.resource_group = record["subscription"], record["resource_group"]
        self.flex = record.get("plan", "Consumption") == "FlexConsumption"
        if not self.flex and record.get("plan", "Consumption") != "Consumption":
            raise SystemExit(f"app {self.name}: plan must be Consumption or FlexConsumption")
        self.sku = "FlexConsumption" if self.flex else "Dynamic"
        self.location = record.get("location", "East US")
        self.instance_memory_mb = record.get("instance_memory_mb", 2048)
        self.maximum_instance_count = record.get("maximum_instance_count", 100)
        self.publishing_password = record["publishing_password"]
        self.basic_auth = record.get("basic_auth", True)
        defaults = {"AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName=faasetstandin;"
                                           "AccountKey=" + base64.b64encode(secrets.token_bytes(64)).decode() +
                                           ";EndpointSuffix=core.windows.net"}
        if not self.flex:
            defaults.update({"FUNCTIONS_EXTENSION_VERSION": "~4", "FUNCTIONS_WORKER_RUNTIME": "python"})
        self.settings = record.get("app_settings", defaults)
        self.master_key = secrets.token_urlsafe(40)
        self.host_function_keys = {"default": secrets.token_urlsafe(40)}
        self.function_keys = {}     # function name -> {key name: value}
        self.deployments = []       # newest last
        self.version = None         # {"number", "root", "functions", "host": {...} or {"error"}}
        self.retired_roots = []     # wwwroot folders of earlier versions (the last one is kept)
        self.instances = []
        self.log_lines = []
        self.folder = os.path.join(workdir, self.name)
        os.makedirs(self.folder)
        self.lock = threading.RLock()

    def memory_mb(self):
        return self.instance_memory_mb if self.flex else CONSUMPTION_MEMORY_MB

    def log(self, level, text):
        with self.lock:
            self.log_lines.append(f"{utc_iso()[:23]} [{level}] {text}")

    def site_id(self):
        return (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                f"/providers/Microsoft.Web/sites/{self.name}")

    def restart(self):
        """What a deployment or a configuration change does: idle instances stop, busy ones when done."""
        with self.lock:
            keep = []
            for instance in self.instances:
                if instance.busy:
                    instance.dead = True
                    keep.append(instance)
                else:
                    instance.stop()
            self.instances = keep


def read_function(root, folder, app_log):
    """The function in wwwroot/FOLDER (function.json), or None (with the host's error in the log)."""
    try:
        with open(os.path.join(root, folder, "function.json")) as file:
            config = json.load(file)
        bindings = config["bindings"]
        triggers = [b for b in bindings if str(b.get("type", "")).endswith("Trigger")]
        if len(triggers) != 1 or triggers[0]["type"] != "httpTrigger" or triggers[0].get("direction") != "in":
            raise ValueError("the stand-in runs functions with exactly one httpTrigger binding (direction in)")
        trigger = triggers[0]
        outputs = [b for b in bindings if b.get("type") == "http" and b.get("direction") == "out"]
        if [b.get("name") for b in outputs] != ["$return"]:
            raise ValueError("the http output binding must be named $return")
        level = str(trigger.get("authLevel", "function")).lower()
        if level not in AUTH_LEVELS:
            raise ValueError(f"authLevel '{trigger.get('authLevel')}' is not one of {', '.join(AUTH_LEVELS)}")
        methods = [str(m).lower() for m in trigger.get("methods") or HTTP_METHODS]
        if any(m not in HTTP_METHODS for m in methods):
            raise ValueError(f"methods {trigger.get('methods')} are not all HTTP methods")
        script = os.path.normpath(os.path.join(root, folder, config.get("scriptFile", "__init__.py")))
        if not script.startswith(root + os.sep) or not os.path.isfile(script):
            raise ValueError(f"scriptFile '{config.get('scriptFile', '__init__.py')}' does not exist")
        return {"name": folder, "directory": os.path.join(root, folder), "script": script,
                "entry": config.get("entryPoint", "main"), "trigger": trigger["name"], "auth_level": level,
                "methods": methods, "route": trigger.get("route") or folder, "config": config}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        app_log("Error", f"The function '{folder}' could not be indexed: {error}")
        return None


def read_host_json(root, flex):
    """host.json's settings the stand-in honours, or {"error": why the host cannot start}."""
    try:
        with open(os.path.join(root, "host.json")) as file:
            host = json.load(file)
        if not isinstance(host, dict) or host.get("version") != "2.0":
            return {"error": "The host.json file is missing the required 'version' property set to '2.0'."}
        timeout = parse_timespan(host["functionTimeout"]) if "functionTimeout" in host else (1800 if flex else 300)
        if timeout is None and not flex or timeout is not None and not (1 <= timeout <= (10 ** 9 if flex else 600)):
            limit = "00:00:01 and 00:10:00" if not flex else "00:00:01 and -1 (none)"
            return {"error": f"FunctionTimeout must be between {limit}: '{host['functionTimeout']}'."}
        prefix = (((host.get("extensions") or {}).get("http") or {}).get("routePrefix", "api")).strip("/")
        return {"timeout": timeout, "route_prefix": prefix}
    except (OSError, ValueError, AttributeError) as error:
        return {"error": f"The host.json file could not be read: {error}"}


def match_route(template, segments):
    """route_params when SEGMENTS match the route TEMPLATE ({name}, {name?}, {*rest}), else None."""
    parts = [p for p in template.strip("/").split("/") if p]
    params = {}
    for index, part in enumerate(parts):
        named = re.fullmatch(r"\{(\*?)(\w+)(?::\w+)?(\??)\}", part)
        if named and named.group(1):
            params[named.group(2)] = "/".join(segments[index:])
            return params
        if index >= len(segments):
            if named and named.group(3):
                continue
            return None
        if named:
            params[named.group(2)] = segments[index]
        elif part.lower() != segments[index].lower():
            return None
    return params if len(segments) == len(parts) else None


class Standin:
    def __init__(self, config, args, public_url, workdir):
        self.public_url, self.workdir = public_url.rstrip("/"), workdir
        self.deploy_seconds, self.deploy_gate = args.deploy_seconds, args.deploy_gate
        self.idle_seconds = args.idle_seconds
        self.tokens = Tokens(self.public_url, args.token_seconds)
        self.tenants = {t["id"].lower(): t for t in config.get("tenants", [])}
        self.clients = {}
        for client in config.get("clients", []):
            client = dict(client, object_id=client.get("object_id", str(uuid.uuid4())))
            self.clients[(client["tenant"].lower(), client["client_id"].lower())] = client
        self.subscriptions = {s["id"].lower(): dict(s, resource_groups={g.lower(): g for g in s["resource_groups"]})
                              for s in config.get("subscriptions", [])}
        self.apps = {a["name"].lower(): App(a, workdir) for a in config.get("apps", [])}
        self.lock = threading.Lock()
        self.counters = dict.fromkeys(("tokens_issued", "token_refusals", "deployments", "deployments_failed",
                                       "cold_starts", "warm_starts", "invocations", "throttled_429", "timeouts",
                                       "unauthorized_401"), 0)

    def count(self, name):
        with self.lock:
            self.counters[name] += 1

    # ---- Microsoft Entra ID ----

    def tenant(self, name):
        name = name.lower()
        for tenant in self.tenants.values():
            if name in (tenant["id"].lower(), str(tenant.get("domain", "")).lower()):
                return tenant
        return None

    def aad_error(self, status, error, code, text):
        trace, correlation, now = str(uuid.uuid4()), str(uuid.uuid4()), time.gmtime()
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", now)
        self.count("token_refusals")
        return Answer(status, {"error": error,
                               "error_description": f"AADSTS{code}: {text} Trace ID: {trace} Correlation ID: "
                                                    f"{correlation} Timestamp: {stamp}",
                               "error_codes": [code], "timestamp": stamp, "trace_id": trace,
                               "correlation_id": correlation, "error_uri": f"{self.public_url}/error?code={code}"})

    def unknown_tenant(self, name):
        return self.aad_error(400, "invalid_request", 90002,
                              f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID and "
                              "are signing into the correct cloud. Check with your subscription administrator, this "
                              "may happen if there are no active subscriptions for the tenant.")

    def token(self, tenant_name, method, content_type, body, authorization):
        if method != "POST":
            raise self.aad_error(400, "invalid_request", 900561,
                                 f"The endpoint only accepts POST, OPTIONS requests. Received a {method} request.")
        tenant = self.tenant(tenant_name)
        if tenant is None:
            raise self.unknown_tenant(tenant_name)
        form = {}
        if content_type == "application/x-www-form-urlencoded":
            form = dict(urllib.parse.parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(encoded).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
            form.setdefault("client_id", urllib.parse.unquote(user))
            form.setdefault("client_secret", urllib.parse.unquote(password))

        def required(name):
            if not form.get(name):
                raise self.aad_error(400, "invalid_request", 900144,
                                     f"The request body must contain the following parameter: '{name}'.")
            return form[name]

        grant = required("grant_type")
        if grant != "client_credentials":
            raise self.aad_error(400, "unsupported_grant_type", 70003,
                                 f"The app requested an unsupported grant type '{grant}'.")
        client_id = required("client_id")
        client = self.clients.get((tenant["id"].lower(), client_id.lower()))
        if client is None:
            raise self.aad_error(400, "unauthorized_client", 700016,
                                 f"Application with identifier '{client_id}' was not found in the directory "
                                 f"'{tenant.get('domain', tenant['id'])}'. This can happen if the application has "
                                 "not been installed by the administrator of the tenant or consented to by any user "
                                 "in the tenant. You may have sent your authentication request to the wrong tenant.")
        if not form.get("client_secret"):
            raise self.aad_error(401, "invalid_client", 7000218,
                                 "The request body must contain the following parameter: 'client_assertion' or "
                                 "'client_secret'.")
        if not hmac.compare_digest(form["client_secret"].encode(), client["client_secret"].encode()):
            raise self.aad_error(401, "invalid_client", 7000215,
                                 "Invalid client secret provided. Ensure the secret being sent in the request is the "
                                 f"client secret value, not the client secret ID, for a secret added to app "
                                 f"'{client['client_id']}'.")
        scopes = [s for s in required("scope").split() if s not in ("openid", "profile", "offline_access")]
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            raise self.aad_error(400, "invalid_scope", 1002012,
                                 f"The provided value for scope {' '.join(scopes)} is not valid. Client credential "
                                 "flows must have a scope value with /.default suffixed to the resource identifier "
                                 "(application ID URI).")
        resource = scopes[0][:-len(".default")]
        if resource not in RESOURCES and resource.rstrip("/") not in RESOURCES:
            raise self.aad_error(400, "invalid_resource", 500011,
                                 f"The resource principal named {resource.rstrip('/')} was not found in the tenant "
                                 f"named {tenant.get('domain', tenant['id'])}. This can happen if the application "
                                 "has not been installed by the administrator of the tenant or consented to by any "
                                 "user in the tenant. You might have sent your authentication request to the wrong "
                                 "tenant.")
        self.count("tokens_issued")
        lifetime = self.tokens.lifetime
        return Answer(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                            "access_token": self.tokens.issue(tenant, client, resource.rstrip("/") + "/")},
                      {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})

    def openid_configuration(self, tenant_name, v2):
        tenant = self.tenant(tenant_name)
        if tenant is None:
            answer = self.unknown_tenant(tenant_name)
            answer.body["error"] = "invalid_tenant"
            raise answer
        base, suffix = f"{self.public_url}/{tenant_name}", "/v2.0" if v2 else ""
        return Answer(200, {
            "token_endpoint": f"{base}/oauth2{suffix}/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{self.public_url}/{tenant['id']}/discovery{suffix}/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{self.public_url}/{tenant['id']}{suffix}",
            "authorization_endpoint": f"{base}/oauth2{suffix}/authorize",
            "device_authorization_endpoint": f"{base}/oauth2{suffix}/devicecode",
            "end_session_endpoint": f"{base}/oauth2{suffix}/logout",
            "tenant_region_scope": "NA", "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com"})

    def instance_discovery(self, query):
        endpoint = urllib.parse.urlsplit(query.get("authorization_endpoint", ""))
        own = urllib.parse.urlsplit(self.public_url)
        if (endpoint.scheme, endpoint.netloc.lower()) != (own.scheme, own.netloc.lower()):
            raise self.aad_error(400, "invalid_instance", 50049, "Unknown or invalid instance.")
        tenant = endpoint.path.strip("/").split("/")[0] or "common"
        return Answer(200, {"tenant_discovery_endpoint":
                            f"{self.public_url}/{tenant}/v2.0/.well-known/openid-configuration",
                            "api-version": "1.1",
                            "metadata": [{"preferred_network": own.netloc, "preferred_cache": own.netloc,
                                          "aliases": [own.netloc]}]})

    # ---- Azure Resource Manager ----

    def principal(self, authorization):
        """The claims of a live management token in AUTHORIZATION, else the 401 ARM answers."""
        scheme, _, token = (authorization or "").partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer authorization_uri="' + self.public_url + '/", '
                                         'error="invalid_token", error_description="The authentication failed."'}
        if not authorization:
            raise arm_error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is "
                                                         "missing.", challenge)
        if scheme.lower() != "bearer" or not token.strip():
            raise arm_error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is "
                                                         "provided in an invalid format.", challenge)
        claims = self.tokens.verify(token.strip())
        if claims is None:
            raise arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.", challenge)
        now = time.time()
        if claims["exp"] <= now:
            shown = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(claims["exp"]))
            raise arm_error(401, "ExpiredAuthenticationToken",
                            f"The access token expiry UTC time '{shown}' is earlier than current UTC time "
                            f"'{time.strftime('%m/%d/%Y %H:%M:%S', time.gmtime(now))}'.", challenge)
        if claims["aud"] not in ARM_AUDIENCES:
            raise arm_error(401, "InvalidAuthenticationTokenAudience",
                            f"The access token has been obtained for wrong audience or resource '{claims['aud']}'. "
                            "It should exactly match with one of the allowed audiences "
                            "'https://management.core.windows.net/','https://management.core.windows.net',"
                            "'https://management.azure.com/','https://management.azure.com'.", challenge)
        return claims

    def authorize(self, claims, subscription, action, scope):
        """401 when the token is of another tenant than SUBSCRIPTION's; 403 when its client may not do ACTION."""
        if claims["tid"].lower() != subscription["tenant"].lower():
            raise arm_error(401, "InvalidAuthenticationTokenTenant",
                            f"The access token is from the wrong issuer '{claims['iss']}'. It must match the tenant "
                            f"'https://sts.windows.net/{subscription['tenant']}/' associated with this subscription. "
                            f"Please use the authority (URL) '{self.public_url}/{subscription['tenant']}' to get "
                            "the token.")
        client = self.clients.get((claims["tid"].lower(), claims["appid"].lower()))
        role = client.get("role", "Contributor") if client else None
        if role != "Contributor" and not (role == "Reader" and action.endswith("/read")):
            raise arm_error(403, "AuthorizationFailed",
                            f"The client '{claims['appid']}' with object id '{claims['oid']}' does not have "
                            f"authorization to perform action '{action}' over scope '{scope}' or the scope is "
                            "invalid. If access was recently granted, please refresh your credentials.")

    @staticmethod
    def api_version(query):
        version = query.get("api-version")
        if not version:
            raise arm_error(400, "MissingApiVersionParameter",
                            "The api-version query parameter (?api-version=) is required for all requests.")
        if not API_VERSION.match(version):
            raise arm_error(400, "InvalidApiVersionParameter",
                            f"The api-version '{version}' is invalid. The supported versions are "
                            f"'{','.join(WEB_API_VERSIONS)}'.")
        if version not in WEB_API_VERSIONS:
            raise arm_error(400, "NoRegisteredProviderFound",
                            f"No registered resource provider found for location 'eastus' and API version "
                            f"'{version}' for type 'sites'. The supported api-versions are "
                            f"'{', '.join(WEB_API_VERSIONS)}'. The supported locations are 'eastus, westeurope'.")
        return version

    def arm(self, method, parts, query, body, headers):
        claims = self.principal(headers.get("Authorization"))
        version = self.api_version(query)
        kind = (headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if body and kind != "application/json":
            raise arm_error(415, "UnsupportedMediaType", f"The content media type '{kind}' is not supported. Only "
                                                         "'application/json' is supported.")
        lower = [p.lower() for p in parts]
        subscription = self.subscriptions.get(lower[1]) if len(parts) > 1 else None
        if subscription is None:
            raise arm_error(404, "SubscriptionNotFound", f"The subscription '{parts[1] if len(parts) > 1 else ''}' "
                                                         "could not be found.")
        if len(parts) < 8 or lower[2] != "resourcegroups" or lower[4:6] != ["providers", "microsoft.web"] \
                or lower[6] not in ("sites", "serverfarms"):
            raise arm_error(404, "NotFound", f"No HTTP resource was found that matches the request URI "
                                             f"'https://management.azure.com/{'/'.join(parts)}'.")
        scope = "/" + "/".join(parts[:8])
        rest = lower[8:]
        action = self.arm_action(lower[6], method, rest)
        self.authorize(claims, subscription, action, scope)
        group = subscription["resource_groups"].get(lower[3])
        if group is None:
            raise arm_error(404, "ResourceGroupNotFound", f"Resource group '{parts[3]}' could not be found.")
        if lower[6] == "serverfarms":
            return self.plan(subscription, group, parts[7], method, rest)
        app = self.apps.get(lower[7])
        if app is None or app.subscription.lower() != lower[1] or app.resource_group.lower() != lower[3]:
            raise arm_error(404, "ResourceNotFound",
                            f"The Resource 'Microsoft.Web/sites/{parts[7]}' under resource group '{parts[3]}' was "
                            "not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
        with app.lock:
            return self.site_call(app, method, rest, parts[8:], body, version)

    @staticmethod
    def arm_action(kind, method, rest):
        if kind == "serverfarms":
            return "Microsoft.Web/serverfarms/read"
        if not rest:
            return "Microsoft.Web/sites/read" if method == "GET" else "Microsoft.Web/sites/write"
        if rest[0] == "functions":
            if len(rest) == 3 and rest[2] == "listkeys":
                return "Microsoft.Web/sites/functions/listkeys/action"
            return {"GET": "Microsoft.Web/sites/functions/read",
                    "DELETE": "Microsoft.Web/sites/functions/delete"}.get(method, "Microsoft.Web/sites/functions/write")
        if rest[:1] == ["host"]:
            return "Microsoft.Web/sites/host/listkeys/action"
        if rest[:1] == ["config"]:
            return "Microsoft.Web/sites/config/" + ("list/action" if rest[-1] == "list" else "write")
        if rest == ["publishxml"]:
            return "Microsoft.Web/sites/publishxml/action"
        return "Microsoft.Web/sites/read" if method == "GET" else "Microsoft.Web/sites/write"

    @staticmethod
    def allow(method, wanted):
        if method != wanted:
            raise arm_error(405, "MethodNotAllowed", f"The requested resource does not support http method "
                                                     f"'{method}'.")

    def plan(self, subscription, group, name, method, rest):
        self.allow(method, "GET")
        app = next((a for a in self.apps.values() if a.subscription.lower() == subscription["id"].lower()
                    and a.resource_group.lower() == group.lower() and f"{a.name}-plan".lower() == name.lower()),
                   None)
        if app is None or rest:
            raise arm_error(404, "ResourceNotFound",
                            f"The Resource 'Microsoft.Web/serverfarms/{name}' under resource group '{group}' was not "
                            "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
        sku = {"name": "FC1", "tier": "FlexConsumption", "size": "FC1", "family": "FC", "capacity": 0} if app.flex \
            else {"name": "Y1", "tier": "Dynamic", "size": "Y1", "family": "Y", "capacity": 0}
        return Answer(200, {"id": app.site_id().replace("/sites/" + app.name, "/serverfarms/" + app.name + "-plan"),
                            "name": f"{app.name}-plan", "type": "Microsoft.Web/serverfarms", "kind": "functionapp",
                            "location": app.location, "sku": sku,
                            "properties": {"status": "Ready", "reserved": True, "numberOfSites": 1,
                                           "resourceGroup": app.resource_group}})

    def site_call(self, app, method, rest, original, body, version):
        if not rest:
            if method == "GET":
                return Answer(200, self.site_json(app, version))
            self.allow(method, "PATCH")
            self.patch_site(app, self.json_body(body), version)
            return Answer(200, self.site_json(app, version))
        if rest == ["functions"]:
            self.allow(method, "GET")
            functions = app.version["functions"] if app.version else {}
            return Answer(200, {"value": [self.function_json(app, f) for f in functions.values()],
                                "nextLink": None, "id": None})
        if rest[0] == "functions" and len(rest) in (2, 3):
            functions = app.version["functions"] if app.version else {}
            function = next((f for n, f in functions.items() if n.lower() == rest[1]), None)
            if function is None:
                raise arm_error(404, "NotFound", f"Error retrieving function '{original[1]}': the function app "
                                                 f"'{app.name}' has no function of that name.")
            if len(rest) == 3:
                if rest[2] != "listkeys":
                    raise arm_error(404, "NotFound", "No HTTP resource was found that matches the request URI.")
                self.allow(method, "POST")
                return Answer(200, dict(app.function_keys.get(function["name"], {})))
            if method == "GET":
                return Answer(200, self.function_json(app, function))
            self.allow(method, "DELETE")
            self.delete_function(app, function)
            return Answer(204)
        if rest == ["host", "default", "listkeys"]:
            self.allow(method, "POST")
            return Answer(200, {"masterKey": app.master_key, "functionKeys": dict(app.host_function_keys),
                                "systemKeys": {}})
        if rest == ["config", "appsettings", "list"]:
            self.allow(method, "POST")
            return Answer(200, self.settings_json(app))
        if rest == ["config", "appsettings"]:
            self.allow(method, "PUT")
            self.put_settings(app, self.json_body(body))
            return Answer(200, self.settings_json(app))
        if rest == ["publishxml"]:
            self.allow(method, "POST")
            return Answer(200, self.publish_profile(app).encode(), {"Content-Type": "application/xml"})
        raise arm_error(404, "NotFound", "No HTTP resource was found that matches the request URI.")

    @staticmethod
    def json_body(body):
        try:
            data = json.loads(body or b"null")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                          "deserialized: the body must be a JSON object.")
        return data

    def site_json(self, app, version):
        host, scm = f"{app.name}.azurewebsites.net", f"{app.name}.scm.azurewebsites.net"
        properties = {
            "name": app.name, "state": "Running", "hostNames": [host], "enabledHostNames": [host, scm],
            "defaultHostName": host, "usageState": "Normal", "availabilityState": "Normal",
            "hostNameSslStates": [{"name": host, "sslState": "Disabled", "hostType": "Standard"},
                                  {"name": scm, "sslState": "Disabled", "hostType": "Repository"}],
            "serverFarmId": app.site_id().replace("/sites/" + app.name, "/serverfarms/" + app.name + "-plan"),
            "sku": app.sku, "reserved": True, "httpsOnly": True, "resourceGroup": app.resource_group,
            "siteConfig": {"numberOfWorkers": 1, "linuxFxVersion": "" if app.flex else "Python|3.11"},
            "functionAppConfig": None}
        if app.flex and version >= FUNCTION_APP_CONFIG_SINCE:
            properties["functionAppConfig"] = {
                "deployment": {"storage": {"type": "blobContainer",
                                           "value": "https://faasetstandin.blob.core.windows.net/"
                                                    f"app-package-{app.name}",
                                           "authentication": {"type": "SystemAssignedIdentity"}}},
                "runtime": {"name": "python", "version": "3.11"},
                "scaleAndConcurrency": {"alwaysReady": [], "maximumInstanceCount": app.maximum_instance_count,
                                        "instanceMemoryMB": app.instance_memory_mb, "triggers": None}}
        elif version < FUNCTION_APP_CONFIG_SINCE:
            del properties["functionAppConfig"]
        return {"id": app.site_id(), "name": app.name, "type": "Microsoft.Web/sites", "kind": "functionapp,linux",
                "location": app.location, "tags": {}, "properties": properties}

    def patch_site(self, app, data, version):
        unknown = sorted(set(data) - {"properties", "tags", "kind", "location"})
        properties = data.get("properties") or {}
        unknown += sorted(f"properties.{k}" for k in set(properties) - {"functionAppConfig"})
        config = properties.get("functionAppConfig")
        if config is not None and version < FUNCTION_APP_CONFIG_SINCE:
            unknown.append("properties.functionAppConfig")
        if unknown:
            raise arm_error(400, "InvalidRequestContent",
                            "The request content was invalid and could not be deserialized: 'Could not find member "
                            f"'{unknown[0].split('.')[-1]}' on object of type 'SitePatchResource'. Path "
                            f"'{unknown[0]}'.'.")
        if config is None:
            return
        if not app.flex:
            raise arm_error(400, "BadRequest", "FunctionAppConfig is only supported for function apps on the Flex "
                                               f"Consumption plan; '{app.name}' is on the Consumption (Dynamic) plan, "
                                               "whose instances have a fixed 1.5 GB and no memory setting.")
        scale = config.get("scaleAndConcurrency") or {}
        memory, count = scale.get("instanceMemoryMB"), scale.get("maximumInstanceCount")
        if memory is not None and memory not in FLEX_MEMORY_MB:
            raise arm_error(400, "BadRequest", f"Invalid value '{memory}' for InstanceMemoryMB. Allowed values are "
                                               f"{', '.join(map(str, FLEX_MEMORY_MB))}.")
        if count is not None and (not isinstance(count, int) or not 1 <= count <= 1000):
            raise arm_error(400, "BadRequest", f"Invalid value '{count}' for MaximumInstanceCount. It must be "
                                               "between 1 and 1000.")
        if memory is not None and memory != app.instance_memory_mb:
            app.instance_memory_mb = memory
            app.restart()
        if count is not None:
            app.maximum_instance_count = count

    def function_json(self, app, function):
        scm = f"https://{app.name}.scm.azurewebsites.net"
        name = function["name"]
        return {"id": f"{app.site_id()}/functions/{name}", "name": f"{app.name}/{name}",
                "type": "Microsoft.Web/sites/functions", "location": app.location,
                "properties": {"name": name, "function_app_id": app.site_id(),
                               "script_root_path_href": f"{scm}/api/vfs/site/wwwroot/{name}/",
                               "script_href": f"{scm}/api/vfs/site/wwwroot/"
                                              f"{os.path.relpath(function['script'], app.version['root'])}",
                               "config_href": f"{scm}/api/vfs/site/wwwroot/{name}/function.json",
                               "href": f"{scm}/api/functions/{name}", "config": function["config"],
                               "invoke_url_template": f"https://{app.name}.azurewebsites.net/"
                                                      f"{app.version['host'].get('route_prefix', 'api')}/"
                                                      f"{function['route']}".replace("//", "/")
                                                      .replace("https:/", "https://"),
                               "language": "python", "isDisabled": False}}

    def delete_function(self, app, function):
        shutil.rmtree(function["directory"], ignore_errors=True)
        del app.version["functions"][function["name"]]
        app.function_keys.pop(function["name"], None)
        app.restart()

    @staticmethod
    def settings_json(app):
        return {"id": f"{app.site_id()}/config/appsettings", "name": "appsettings",
                "type": "Microsoft.Web/sites/config", "location": app.location, "properties": dict(app.settings)}

    @staticmethod
    def put_settings(app, data):
        settings = data.get("properties")
        if not isinstance(settings, dict) or not all(isinstance(v, str) for v in settings.values()):
            raise arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                          "deserialized: 'properties' must map names to string values.")
        bad = [n for n in settings if not re.fullmatch(r"[A-Za-z0-9_.:-]+", n)]
        if bad:
            raise arm_error(400, "BadRequest", f"AppSetting with name '{bad[0]}' is not allowed: names are letters, "
                                               "digits and the characters _ . : -")
        if app.flex:
            refused = [n for n in FLEX_REFUSED_SETTINGS if n in settings]
            if refused:
                raise arm_error(400, "BadRequest", f"The following app setting (Site.SiteConfig.AppSettings."
                                                   f"{refused[0]}) for Flex Consumption sites is invalid. Please "
                                                   "remove or rename it before retrying.")
        app.settings = dict(settings)
        app.restart()

    @staticmethod
    def publish_profile(app):
        scm, site = f"{app.name}.scm.azurewebsites.net:443", f"http://{app.name}.azurewebsites.net"
        common = (f'userName={quoteattr("$" + app.name)} userPWD={quoteattr(app.publishing_password)} '
                  f'destinationAppUrl="{site}" SQLServerDBConnectionString="" mySQLDBConnectionString="" '
                  'hostingProviderForumLink="" controlPanelLink="https://portal.azure.com" webSystem="WebSites"')
        return ("<publishData>"
                f'<publishProfile profileName="{app.name} - Web Deploy" publishMethod="MSDeploy" '
                f'publishUrl="{scm}" msdeploySite="{app.name}" {common}><databases /></publishProfile>'
                f'<publishProfile profileName="{app.name} - Zip Deploy" publishMethod="ZipDeploy" '
                f'publishUrl="{scm}" {common}><databases /></publishProfile>'
                "</publishData>")

    # ---- Kudu (scm) ----

    def kudu_auth(self, app, authorization):
        scheme, _, value = (authorization or "").partition(" ")
        challenge = {"WWW-Authenticate": 'Basic realm="site"'}
        if scheme.lower() == "basic" and app.basic_auth:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
            if hmac.compare_digest(user.encode(), f"${app.name}".encode()) and \
                    hmac.compare_digest(password.encode(), app.publishing_password.encode()):
                return
        elif scheme.lower() == "bearer":
            try:
                claims = self.principal(authorization)
                self.authorize(claims, self.subscriptions[app.subscription.lower()],
                               "Microsoft.Web/sites/publish/Action", app.site_id())
                return
            except Answer as refusal:
                if refusal.status == 403:
                    raise Answer(403, "403 Forbidden: the principal may not deploy to this site.") from None
        raise Answer(401, "401 - Unauthorized: Access is denied due to invalid credentials.", challenge)

    def kudu(self, app, method, path, query, body, headers):
        self.kudu_auth(app, headers.get("Authorization"))
        scm = f"{self.public_url}/{app.name}.scm.azurewebsites.net"
        if path in ("/api/zipdeploy", "/api/publish"):
            if method != "POST":
                raise Answer(405, "The requested resource does not support http method '" + method + "'.")
            if path == "/api/zipdeploy":
                if app.flex:
                    raise Answer(400, "Zip deploy is not supported on the Flex Consumption plan: publish the "
                                      "package with POST /api/publish?RemoteBuild=false (One Deploy).")
                return self.zipdeploy(app, scm, query, body)
            if not app.flex:
                raise Answer(400, "One Deploy (/api/publish) is how Flex Consumption apps are deployed; deploy to "
                                  "a Consumption app with POST /api/zipdeploy.")
            return self.publish(app, scm, query, body, headers)
        match = re.fullmatch(r"/api/deployments(?:/([^/]+)(/log)?)?/?", path)
        if match and method == "GET":
            with app.lock:
                if match.group(1) is None:
                    return Answer(200, [self.deployment_json(d, scm) for d in reversed(app.deployments)])
                wanted = match.group(1)
                record = app.deployments[-1] if wanted == "latest" and app.deployments else \
                    next((d for d in app.deployments if d["id"] == wanted), None)
                if record is None:
                    raise Answer(404, {"Message": f"Deployment '{wanted}' not found."})
                if match.group(2):
                    return Answer(200, [dict(entry) for entry in record["log"]])
                running = 200 if app.flex else 202  # Flex answers 200 while it runs: the body says
                return Answer(200 if record["complete"] else running, self.deployment_json(record, scm))
        if path.startswith("/api/vfs/site/wwwroot") and method == "GET":
            return self.vfs(app, path[len("/api/vfs/site/wwwroot"):], scm)
        raise Answer(404, "404 Not Found")

    def start_deployment(self, app, body, deployer, message):
        """A new deployment record, its build running in a thread; 409 while another one runs."""
        with app.lock:
            if any(not d["complete"] for d in app.deployments):
                raise Answer(409, "There is a deployment currently in progress. Please try again when it completes.")
            now = time.time()
            record = {"id": uuid.uuid4().hex, "status": 0, "status_text": "Receiving changes.",
                      "author_email": "N/A", "author": "N/A", "deployer": deployer, "message": message,
                      "progress": "", "received_time": utc_iso(now), "start_time": utc_iso(now), "end_time": None,
                      "last_success_end_time": None, "complete": False, "active": False, "is_temp": False,
                      "is_readonly": True, "site_name": app.name, "log": [], "done": threading.Event()}
            app.deployments.append(record)
        self.count("deployments")
        threading.Thread(target=self.deploy, args=(app, record, body), daemon=True).start()
        return record

    def publish(self, app, scm, query, body, headers):
        """One Deploy (Flex Consumption): 202 with the deployment id as a JSON string."""
        kind = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/zip":
            raise Answer(415, f"Unsupported Media Type: the package must be sent as application/zip, not "
                              f"'{kind or 'none'}'.")
        remote = query.get("RemoteBuild", "false").lower()
        if remote not in ("true", "false"):
            raise Answer(400, f"RemoteBuild must be true or false, not '{query['RemoteBuild']}'.")
        if remote == "true":
            raise Answer(400, "The stand-in runs no remote build: send RemoteBuild=false with the dependencies "
                              "in the package (.python_packages/lib/site-packages).")
        record = self.start_deployment(app, body, query.get("Deployer", "OneDeploy"), "OneDeploy")
        return Answer(202, json.dumps(record["id"]).encode(),
                      {"Content-Type": "application/json; charset=utf-8",
                       "Location": f"{scm}/api/deployments/{record['id']}"})

    def zipdeploy(self, app, scm, query, body):
        record = self.start_deployment(app, body, query.get("deployer", "Push-Deployer"),
                                       query.get("message", "Created via a push deployment"))
        if query.get("isAsync", "false").lower() == "true":
            location = f"{scm}/api/deployments/latest?deployer=Push-Deployer&time={urllib.parse.quote(utc_iso())}"
            return Answer(202, b"", {"Location": location, "Retry-After": "1"})
        record["done"].wait()
        if record["status"] == KUDU_SUCCESS:
            return Answer(200, b"")
        raise Answer(400, record["status_text"])

    @staticmethod
    def deploy_log(record, message, kind=0):
        record["log"].append({"log_time": utc_iso(), "id": uuid.uuid4().hex, "message": message, "type": kind,
                              "details_url": None})

    def deploy(self, app, record, body):
        """Builds the new wwwroot from the zip, then (after --deploy-seconds) makes it the app's code."""
        self.deploy_log(record, "Updating submodules.")
        record["status"], record["status_text"] = KUDU_BUILDING, "Building and Deploying."
        number = len(app.deployments)
        root = os.path.join(app.folder, f"wwwroot-{number}")
        failure = None
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                names = archive.namelist()
                if "host.json" not in names:
                    failure = ("Deployment Failed. The package has no host.json at its root: a function app's "
                               "zip must hold host.json next to the function folders.")
                else:
                    archive.extractall(root)
        except zipfile.BadZipFile:
            failure = "Deployment Failed. The request body is not a zip file (Failed to extract the package)."
        version = None
        if failure is None:
            self.deploy_log(record, f"Cleaning up temp folders from previous zip deployments and extracting pushed "
                                    f"zip file ({len(body)} bytes) to wwwroot.")
            self.deploy_log(record, "Syncing triggers: the host restarts with the new files.")
            version = {"number": number, "root": root, "host": read_host_json(root, app.flex), "functions": {}}
            folders = sorted(n for n in os.listdir(root) if os.path.isfile(os.path.join(root, n, "function.json")))
            for folder in folders:
                function = read_function(root, folder, app.log)
                if function is not None:
                    version["functions"][folder] = function
            if "error" in version["host"]:
                app.log("Error", f"A host error has occurred during startup operation: {version['host']['error']}")
        time.sleep(self.deploy_seconds)
        while self.deploy_gate and not os.path.exists(self.deploy_gate):
            time.sleep(0.02)
        with app.lock:
            end = utc_iso()
            record["end_time"] = end
            if failure is not None:
                record["status"], record["status_text"] = KUDU_FAILED, failure
                self.deploy_log(record, failure, 2)
                self.count("deployments_failed")
            else:
                for old in app.deployments:
                    old["active"] = False
                record.update(status=KUDU_SUCCESS, status_text="", active=True, last_success_end_time=end)
                if app.version is not None:  # the version before it stays for calls still running on it
                    app.retired_roots.append(app.version["root"])
                while len(app.retired_roots) > 1:
                    shutil.rmtree(app.retired_roots.pop(0), ignore_errors=True)
                app.version = version
                app.function_keys = {name: app.function_keys.get(name) or {"default": secrets.token_urlsafe(40)}
                                     for name in version["functions"]}
                app.restart()
                found = ", ".join(version["functions"]) or "none"
                self.deploy_log(record, f"Deployment successful. deployer = {record['deployer']} deploymentPath = "
                                        f"{'OneDeploy' if app.flex else 'ZipDeploy'}. Functions found: {found}.")
            record["progress"], record["complete"] = "", True
            record["done"].set()

    @staticmethod
    def deployment_json(record, scm):
        out = {k: v for k, v in record.items() if k not in ("log", "done")}
        out["url"] = f"{scm}/api/deployments/{record['id']}"
        out["log_url"] = f"{scm}/api/deployments/{record['id']}/log"
        return out

    @staticmethod
    def vfs(app, relative, scm):
        if app.version is None:
            raise Answer(404, {"Message": "'/home/site/wwwroot' not found."})
        root = app.version["root"]
        path = os.path.normpath(os.path.join(root, urllib.parse.unquote(relative).lstrip("/")))
        if path != root and not path.startswith(root + os.sep) or not os.path.exists(path):
            raise Answer(404, {"Message": f"'/home/site/wwwroot{relative}' not found."})
        if os.path.isfile(path):
            with open(path, "rb") as file:
                return Answer(200, file.read(), {"Content-Type": "application/octet-stream"})
        entries = []
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            inside = os.path.relpath(full, root)
            entries.append({"name": name, "size": os.path.getsize(full) if os.path.isfile(full) else 0,
                            "mtime": utc_iso(os.path.getmtime(full)),
                            "mime": "inode/directory" if os.path.isdir(full) else "application/octet-stream",
                            "href": f"{scm}/api/vfs/site/wwwroot/{inside}" + ("/" if os.path.isdir(full) else ""),
                            "path": f"/home/site/wwwroot/{inside}"})
        return Answer(200, entries)

    # ---- the Functions host ----

    def host(self, app, method, path, query, body, headers):
        with app.lock:
            version = app.version
        if path.rstrip("/").lower() in ("/admin/host/status", "/admin/functions"):
            return self.admin(app, version, method, path.rstrip("/").lower(), query, headers)
        if version is None:
            raise Answer(404, b"")
        if "error" in version["host"]:
            raise Answer(503, "Function host is not running.")
        prefix = version["host"]["route_prefix"]
        segments = [urllib.parse.unquote(s) for s in path.strip("/").split("/") if s]
        if prefix:
            if not segments or segments[0].lower() != prefix.lower():
                raise Answer(404, b"")
            segments = segments[1:]
        for function in version["functions"].values():
            params = match_route(function["route"], segments)
            if params is not None and method.lower() in function["methods"]:
                break
        else:
            raise Answer(404, b"")
        self.check_key(app, function, query, headers)
        instance, cold = self.take_instance(app, version)
        if instance is None:
            self.count("throttled_429")
            raise Answer(429, b"")
        self.count("cold_starts" if cold else "warm_starts")
        self.count("invocations")
        url = f"https://{app.name}.azurewebsites.net{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        return self.run(app, version, instance, cold, function, {
            "method": method, "url": url, "headers": dict(headers.items()),
            "params": query, "route_params": params, "body": base64.b64encode(body).decode()})

    def admin(self, app, version, method, path, query, headers):
        """The host's admin API (master key): /admin/host/status and /admin/functions."""
        self.check_key(app, None, query, headers)
        if method != "GET":
            raise Answer(405, b"")
        if path == "/admin/functions":
            functions = version["functions"].values() if version else []
            listed = []
            for function in functions:
                properties = self.function_json(app, function)["properties"]
                del properties["function_app_id"]
                listed.append(properties)
            return Answer(200, listed)
        error = version["host"].get("error") if version else None
        status = {"id": app.name, "state": "Error" if error else "Running", "version": "4.1036.1.23224",
                  "versionDetails": "4.1036.1+stand-in", "platformVersion": "", "instanceId": app.name,
                  "computerName": "", "processUptime": 0, "functionAppContentEditingState": "NotAllowed"}
        if error:
            status["errors"] = [error]
        return Answer(200, status)

    def check_key(self, app, function, query, headers):
        """401 unless the call has a key its function's authLevel takes (FUNCTION None: the admin API)."""
        level = "admin" if function is None else function["auth_level"]
        if level == "anonymous":
            return
        given = headers.get("x-functions-key") or query.get("code") or ""
        with app.lock:
            keys = [app.master_key]
            if level == "function":
                keys += list(app.host_function_keys.values())
                keys += list(app.function_keys.get(function["name"], {}).values())
        if not given or not any(hmac.compare_digest(given.encode(), k.encode()) for k in keys):
            self.count("unauthorized_401")
            raise Answer(401, b"")

    def take_instance(self, app, version):
        """An idle warm instance of VERSION, or a new (cold) one; (None, False) when at the instance limit.
        Instances idle for longer than --idle-seconds, or whose process ended, are let go first."""
        with app.lock:
            now = time.monotonic()
            for instance in list(app.instances):
                if not instance.busy and (not instance.alive() or now - instance.idle_since > self.idle_seconds):
                    instance.stop()
                    app.instances.remove(instance)
            for instance in app.instances:
                if not instance.busy and instance.version is version:
                    instance.busy = True
                    return instance, False
            if sum(1 for i in app.instances if i.busy) >= app.maximum_instance_count:
                return None, False
            instance = Instance(app, version, app.log)
            app.instances.append(instance)
            return instance, True

    def run(self, app, version, instance, cold, function, request):
        invocation = str(uuid.uuid4())
        timeout = version["host"]["timeout"]
        deadline = None if timeout is None else time.monotonic() + timeout
        name = f"Functions.{function['name']}"
        app.log("Information", f"Executing '{name}' (Reason='This function was programmatically called via the "
                               f"host APIs.', Id={invocation})")
        started = time.monotonic()
        answer = None
        if cold:
            ready = instance.read_reply(deadline)
            if ready and ready.get("ready"):
                for failed, text in ready["load_errors"].items():
                    app.log("Error", f"Worker failed to load function: '{failed}'. {text}")
                instance.load_errors = ready["load_errors"]
            elif ready is not None:
                instance.load_errors = {function["name"]: "the worker process ended while loading functions"}
                answer = {"error": "The worker process ended while loading the functions."}
        if answer is None and function["name"] in instance.load_errors:
            answer = {"error": f"Exception: the function '{function['name']}' failed to load: "
                               f"{instance.load_errors[function['name']]}"}
        if answer is None and not (cold and ready is None):
            if instance.send({"function": function["name"], "invocation_id": invocation, "request": request}):
                answer = instance.read_reply(deadline)
            else:
                answer = {}
        elapsed = int((time.monotonic() - started) * 1000)
        if answer is None:
            self.count("timeouts")
            instance.dead = True
            app.log("Error", f"Timeout value of {time.strftime('%H:%M:%S', time.gmtime(timeout))} exceeded by "
                             f"function '{name}' (Id: '{invocation}'). Initiating cancellation.")
            app.log("Error", f"Executed '{name}' (Failed, Id={invocation}, Duration={elapsed}ms)")
            result = Answer(500, b"")
        elif "status" in answer:
            app.log("Information", f"Executed '{name}' (Succeeded, Id={invocation}, Duration={elapsed}ms)")
            result = Answer(answer["status"], base64.b64decode(answer["body"]), answer["headers"])
        else:
            if answer.get("memory_exceeded"):
                answer = {"error": "System.OutOfMemoryException: the instance ran out of memory "
                                   f"({app.memory_mb()} MB) and was restarted."}
            elif not answer:
                answer = {"error": "The worker process ended unexpectedly (exit code "
                                   f"{instance.process.poll()})."}
            if not instance.alive() or "worker process ended" in answer["error"]:
                instance.dead = True
            app.log("Error", f"Executed '{name}' (Failed, Id={invocation}, Duration={elapsed}ms)")
            app.log("Error", f"System.Private.CoreLib: Exception while executing function: {name}. "
                             f"Result: Failure\n{answer['error']}")
            result = Answer(500, b"")
        with app.lock:
            instance.busy, instance.idle_since = False, time.monotonic()
            if not instance.alive() or instance.version is not app.version:
                instance.stop()
                if instance in app.instances:
                    app.instances.remove(instance)
        return result

    def stats(self):
        with self.lock:
            return dict(self.counters)

    def stop(self):
        for app in self.apps.values():
            with app.lock:
                for instance in app.instances:
                    instance.stop()
                app.instances = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    standin = None

    def log_message(self, format, *args):
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True  # the body stays unread
            raise Answer(413, "Request body too large.")
        return self.rfile.read(length) if length else b""

    def send(self, answer):
        body = answer.body
        headers = {"x-ms-request-id": str(uuid.uuid4())}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        elif isinstance(body, str):
            body = body.encode()
            headers["Content-Type"] = "text/plain; charset=utf-8"
        elif body is None:
            body = b""
        headers.update(answer.headers)
        self.send_response(answer.status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        try:
            self.send(self.route())
        except Answer as answer:
            self.send(answer)

    def route(self):
        s = self.standin
        body = self.read_body()
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")] if url.path.strip("/") else []
        first = parts[0].lower() if parts else ""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if first == "_standin":
            if parts[1:] == ["stats"]:
                return Answer(200, s.stats())
            if len(parts) == 3 and parts[1] == "logs" and parts[2].lower() in s.apps:
                app = s.apps[parts[2].lower()]
                with app.lock:
                    return Answer(200, list(app.log_lines))
            raise Answer(404, "404 Not Found")
        for suffix, surface in ((".scm.azurewebsites.net", s.kudu), (".azurewebsites.net", s.host)):
            if first.endswith(suffix):
                app = s.apps.get(first[:-len(suffix)])
                if app is None:
                    raise Answer(404, "404 Web Site not found.")
                rest = url.path.split("/", 2)[2] if url.path.count("/") >= 2 else ""
                return surface(app, self.command, "/" + rest, query, body, self.headers)
        if first == "subscriptions":
            return s.arm(self.command, parts, query, body, self.headers)
        if parts[:3] == ["common", "discovery", "instance"]:
            return s.instance_discovery(query)
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            return s.token(parts[0], self.command, content_type, body, self.headers.get("Authorization"))
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return s.openid_configuration(parts[0], True)
        if len(parts) == 3 and parts[1:] == [".well-known", "openid-configuration"]:
            return s.openid_configuration(parts[0], False)
        if len(parts) in (3, 4) and parts[1] == "discovery" and parts[-1] == "keys":
            return Answer(200, {"keys": []})
        raise Answer(404, "404 Not Found")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    tls = None

    def finish_request(self, request, client_address):
        """With TLS, the handshake happens here, in the request's own thread."""
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--public-url")
    parser.add_argument("--token-seconds", type=int, default=3599)
    parser.add_argument("--deploy-seconds", type=float, default=1.0)
    parser.add_argument("--deploy-gate")
    parser.add_argument("--idle-seconds", type=float, default=1200.0)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--watch-stdin", action="store_true")
    args = parser.parse_args()
    with open(args.config) as file:
        config = json.load(file)
    server = Server(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.tls.load_cert_chain(args.tls_cert, args.tls_key)
    port = server.server_address[1]
    workdir = tempfile.mkdtemp(prefix="azure-standin-")
    public = args.public_url or f"{'https' if args.tls_cert else 'http'}://127.0.0.1:{port}"
    standin = Handler.standin = Standin(config, args, public, workdir)
    standin_process.serve(server, workdir, args.watch_stdin, stop=standin.stop)


if __name__ == "__main__":
    main()
