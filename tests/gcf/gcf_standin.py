"""A stand-in for Google Cloud Functions v2 and Google's OAuth token
endpoint, as strict as Google, on loopback over plain HTTP (put
tests/support/tls_terminator.py in front for HTTPS). Built from
/work/shared/platform-api.md's facts and Google's public API reference;
checked by Google's own Node client libraries (tests/gcf/node).

    python3 gcf_standin.py --config FILE [--port 0] [--public-url URL]
                           [--operation-seconds 1.0] [--token-seconds 3599]
                           [--watch-stdin]

prints its port on the first line of stdout and serves until killed (with
--watch-stdin also until stdin closes, so it never outlives its test).
--public-url is the address clients see (the TLS terminator's); it makes
token_uri, upload URLs and function URLs. FILE is JSON written by the test:

    {"service_accounts": [{"client_email": E, "public_key_file": PEM,
                           "private_key_id": K?, "permissions": ["*"]?}],
     "authorized_users": [{"client_id", "client_secret", "refresh_token",
                           "email", "permissions"?}],
     "projects": ["p1", ...], "disabled_projects": [...]?}

What it checks, as Google does:

- POST /token (form-encoded). grant_type jwt-bearer: the assertion is an
  RS256 JWT whose signature verifies with the public key of the account
  named by `iss` (and `kid`, when the file names the key id); `aud` is this
  token URL or Google's own (https://oauth2.googleapis.com/token: the
  stand-in plays that host at another address); `iat` not in the future
  (a minute's skew), `exp` after now and at most an hour after `iat`. With
  `target_audience` the answer is {"id_token"} (a JWT signed by the
  stand-in's own key, `aud` = that audience); else `scope` must be there
  and the answer is {"access_token", "expires_in", "token_type"}.
  grant_type refresh_token: client_id, client_secret and refresh_token of
  an authorized user. Errors are OAuth's {"error", "error_description"}.
- Every /v2 call needs `Authorization: Bearer` with a live access token
  with the cloud-platform scope (401 UNAUTHENTICATED, 403 on scope), a
  known project with the API enabled and the permission
  (cloudfunctions.functions.create, ...) (403 PERMISSION_DENIED), a known
  location (404). Errors are {"error": {"code", "message", "status"}}.
  Unknown query parameters and unknown JSON fields are 400, as Google's
  ESF front end refuses them. `$alt=json;enum-encoding=int` (the Node
  client's REST transport) makes enums integers.
- projects/P/locations/L/functions: create (functionId 4-63 of [a-z0-9-],
  starting with a letter; 409 ALREADY_EXISTS), get, list (pageSize,
  pageToken), patch (updateMask of known, settable paths; no mask = every
  field sent), delete; functions:generateUploadUrl and PUT of the zip to
  that URL (signed: no Authorization header, Content-Type application/zip,
  else 400/403 in Cloud Storage's XML). Create, patch and delete answer
  with an Operation that is done after --operation-seconds; meanwhile the
  function is DEPLOYING (or DELETING) and another change to it is 409
  ABORTED. The build, when the operation ends, needs the uploaded object,
  a zip with main.py defining the entry point; a failed build leaves the
  function FAILED and the operation's `error` set.
- The function URL, PUBLIC/functions/P/L/ID: an ID token from this
  stand-in whose `aud` is that URL (401 without one, 403 for another
  audience or an access token), then the zip's handler runs in an
  instance, a fresh Python process per cold start (gcf_function_host.py)
  with its own TMPDIR (an instance's own /tmp), one request at a time each, at most maxInstanceCount instances (429
  beyond), killed after timeoutSeconds (504), ended when over its memory
  (500). An update makes a new revision: the old instances stop.

- Who may call: the invoker policy, {version, etag, bindings}, read with
  GET NAME:getIamPolicy and written with POST NAME:setIamPolicy {"policy"}
  (a stale etag is 409 ABORTED), on a gen 2 function's Cloud Run service
  (run.googleapis.com's projects/P/locations/L/services/ID, served here
  too; permission run.services.getIamPolicy / setIamPolicy) or on a gen 1
  function (cloudfunctions.functions.getIamPolicy / setIamPolicy). Members
  must be allUsers, allAuthenticatedUsers or TYPE:ID; roles roles/....
  With allUsers in roles/run.invoker (gen 2) or roles/cloudfunctions.invoker
  (gen 1), the function URL answers without a token.
- The metadata server of a Compute Engine VM, when the config names
  "metadata_service_account" (point GCE_METADATA_HOST at the stand-in):
  /computeMetadata/v1/instance/service-accounts/default/token (an access
  token for that account) and .../identity?audience=A[&format=full] (the
  bare ID token), each only with the header `Metadata-Flavor: Google` (403
  without, as the real one), answering with that header too; email and
  project/project-id as text.

Test-only: GET /_standin/logs/P/L/ID answers the function's log lines (no
auth), as Cloud Logging would show them; GET /_standin/stats the counters
(throttled_429, timeouts_504, metadata_tokens).
"""
import argparse
import base64
import collections
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
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zipfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "support"))
import standin_process  # noqa: E402  (tests/support: the port line, --watch-stdin, the clean-up)

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
HOST_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gcf_function_host.py")
LOCATIONS = {"us-central1", "us-east1", "us-east4", "us-east5", "us-south1", "us-west1", "us-west2", "us-west3",
             "us-west4", "northamerica-northeast1", "southamerica-east1", "europe-west1", "europe-west2",
             "europe-west3", "europe-west4", "europe-west6", "europe-central2", "europe-north1", "asia-east1",
             "asia-east2", "asia-northeast1", "asia-northeast2", "asia-south1", "asia-southeast1",
             "australia-southeast1"}
RUNTIMES = {"python38", "python39", "python310", "python311", "python312", "python313"}
FUNCTION_ID = re.compile(r"^[a-z][a-z0-9-]{2,61}[a-z0-9]$")
STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}
ENUMS = {"state": ["STATE_UNSPECIFIED", "ACTIVE", "FAILED", "DEPLOYING", "DELETING", "UNKNOWN"],
         "environment": ["ENVIRONMENT_UNSPECIFIED", "GEN_1", "GEN_2"],
         "ingressSettings": ["INGRESS_SETTINGS_UNSPECIFIED", "ALLOW_ALL", "ALLOW_INTERNAL_ONLY",
                             "ALLOW_INTERNAL_AND_GCLB"]}
# The settable fields of a Function (v2), by path; a dict is a message whose fields are listed.
SETTABLE = {
    "name": None, "description": None, "labels": None, "environment": None, "kmsKeyName": None,
    "buildConfig": {"runtime": None, "entryPoint": None, "environmentVariables": None, "dockerRepository": None,
                    "dockerRegistry": None, "serviceAccount": None, "workerPool": None,
                    "source": {"storageSource": {"bucket": None, "object": None, "generation": None,
                                                 "sourceUploadUrl": None},
                               "repoSource": None, "gitUri": None}},
    "serviceConfig": {"timeoutSeconds": None, "availableMemory": None, "availableCpu": None,
                      "environmentVariables": None, "maxInstanceCount": None, "minInstanceCount": None,
                      "vpcConnector": None, "vpcConnectorEgressSettings": None, "ingressSettings": None,
                      "serviceAccountEmail": None, "allTrafficOnLatestRevision": None,
                      "maxInstanceRequestConcurrency": None, "secretEnvironmentVariables": None,
                      "secretVolumes": None, "securityLevel": None},
    "eventTrigger": None,
}
OUTPUT_ONLY = {"state": None, "updateTime": None, "createTime": None, "url": None, "stateMessages": None,
               "satisfiesPzs": None, "buildConfig": {"build": None, "sourceProvenance": None},
               "serviceConfig": {"uri": None, "service": None, "revision": None}}
UNIT = {"": 1, "k": 1000, "M": 1000 ** 2, "G": 1000 ** 3, "T": 1000 ** 4,
        "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4}


class ApiError(Exception):
    def __init__(self, code, message, status=None, details=None):
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status or STATUS[code]
        self.details = details


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rfc3339(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds * 1e6) % 1000000:06d}Z"


def camel(path):
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), path)


def memory_bytes(text):
    m = re.fullmatch(r"([0-9]+)(k|M|G|T|Ki|Mi|Gi|Ti)?", text or "")
    if not m:
        raise ApiError(400, f"Invalid value specified for container memory: '{text}'. Use a quantity such as "
                            "256M or 1Gi.")
    size = int(m.group(1)) * UNIT[m.group(2) or ""]
    if not 128 * 1024 ** 2 <= size <= 32 * 1024 ** 3:
        raise ApiError(400, f"Invalid value specified for container memory: '{text}'. Memory must be between "
                            "128Mi and 32Gi.")
    return size


def check_fields(obj, allowed, where):
    """Google's ESF refuses JSON fields the message does not have."""
    if not isinstance(obj, dict):
        raise ApiError(400, f"Invalid JSON payload received. '{where}' must be an object.")
    for key, value in obj.items():
        known = key in allowed or key in OUTPUT_ONLY_AT.get(where, ())
        if not known:
            raise ApiError(400, f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': "
                                "Cannot find field.")
        if isinstance(allowed.get(key), dict):
            check_fields(value, allowed[key], f"{where}.{key}")


OUTPUT_ONLY_AT = {"function": set(k for k in OUTPUT_ONLY if OUTPUT_ONLY[k] is None),
                  "function.buildConfig": set(OUTPUT_ONLY["buildConfig"]),
                  "function.serviceConfig": set(OUTPUT_ONLY["serviceConfig"])}


def mask_path_known(path):
    node = SETTABLE
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def get_path(obj, path):
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def set_path(obj, path, value):
    parts = path.split(".")
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    if value is None:
        obj.pop(parts[-1], None)
    else:
        obj[parts[-1]] = value


def enums_as_ints(function):
    """A Function's JSON with its enums as numbers (`$alt=json;enum-encoding=int`)."""
    out = json.loads(json.dumps(function))
    for field, holder in (("state", out), ("environment", out), ("ingressSettings", out.get("serviceConfig", {}))):
        if field in holder:
            holder[field] = ENUMS[field].index(holder[field])
    return out


def enum_name(field, value):
    if isinstance(value, int) and 0 <= value < len(ENUMS[field]):
        return ENUMS[field][value]
    if value in ENUMS[field]:
        return value
    raise ApiError(400, f"Invalid value at 'function.{field}': {json.dumps(value)}")


class Instance:
    """One Python process running a function revision; one request at a time."""

    def __init__(self, function, revision):
        self.revision, self.busy, self.cold, self.dead = revision, True, True, False
        self.log = function["log"]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1",
               "K_SERVICE": function["id"], "K_REVISION": revision, "K_CONFIGURATION": function["id"],
               "FUNCTION_TARGET": function["buildConfig"]["entryPoint"], "FUNCTION_SIGNATURE_TYPE": "http",
               "PORT": "8080"}
        # an instance's own /tmp (Cloud Run's in-memory one): SAAF's container id in it says cold or warm
        self.tmp = tempfile.mkdtemp(prefix="instance-tmp-", dir=os.path.dirname(function["source_dir"]))
        if function["environment"] == "GEN_1":
            env.update({"X_GOOGLE_FUNCTION_NAME": function["id"], "FUNCTION_NAME": function["id"],
                        "FUNCTION_REGION": function["location"], "GCP_PROJECT": function["project"]})
        env.update(function["serviceConfig"].get("environmentVariables") or {})
        env["TMPDIR"] = self.tmp
        memory = memory_bytes(function["serviceConfig"]["availableMemory"])
        self.process = subprocess.Popen(
            [sys.executable, HOST_SCRIPT, function["source_dir"], function["buildConfig"]["entryPoint"],
             str(memory)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            cwd=function["source_dir"], start_new_session=True)
        threading.Thread(target=self._read_log, daemon=True).start()

    def _read_log(self):
        for line in self.process.stderr:
            self.log.append(line.decode(errors="replace").rstrip("\n"))

    def read_line(self, deadline):
        out = self.process.stdout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                return None
            line = out.readline()
            return json.loads(line) if line else {}

    def kill(self):
        self.dead = True
        self.process.kill()

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:  # a request the instance never read: the pipe is broken
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)


class Standin:
    def __init__(self, config, public_url, operation_seconds, token_seconds, workdir):
        self.public_url = public_url.rstrip("/")
        self.operation_seconds, self.token_seconds = operation_seconds, token_seconds
        self.workdir = workdir
        self.lock = threading.RLock()
        self.accounts = {}
        for account in config.get("service_accounts", []):
            with open(account["public_key_file"], "rb") as pem:
                key = serialization.load_pem_public_key(pem.read())
            self.accounts[account["client_email"]] = dict(account, key=key)
        self.users = {u["client_id"]: u for u in config.get("authorized_users", [])}
        self.projects = set(config.get("projects", []))
        self.disabled = set(config.get("disabled_projects", []))
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signing_kid = secrets.token_hex(20)
        self.upload_secret = secrets.token_bytes(32)
        self.tokens = {}        # access token -> {"principal", "scopes", "expires", "permissions"}
        self.objects = {}       # (bucket, object) -> (generation, bytes)
        self.functions = {}     # name -> function record
        self.operations = {}    # name -> operation record
        self.instances = collections.defaultdict(list)  # function name -> [Instance]
        self.metadata_account = config.get("metadata_service_account")
        self.policies = {}      # service or function name -> {"version", "etag", "bindings"}
        self.metadata_project = (config.get("projects") or [None])[0]
        self.counters = collections.Counter()

    # ---- OAuth ----

    def token(self, form):
        grant = form.get("grant_type", "")
        if grant == JWT_BEARER:
            return self.jwt_grant(form.get("assertion", ""))
        if grant == "refresh_token":
            return self.refresh_grant(form)
        return 400, {"error": "unsupported_grant_type", "error_description": f"Invalid grant_type: {grant}"}

    def service_account_jwt(self, jwt):
        """(account, claims) of a JWT a known service account signed, live and short-lived; else
        raises ValueError with the token endpoint's error_description."""
        parts = jwt.split(".")
        if len(parts) != 3:
            raise ValueError("Invalid JWT: not a JWT.")
        try:
            header, claims = json.loads(b64url_decode(parts[0])), json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except ValueError:
            raise ValueError("Invalid JWT: the JWT is not base64url JSON.") from None
        account = self.accounts.get(claims.get("iss"))
        if account is None:
            raise ValueError("Invalid grant: account not found")
        if header.get("alg") != "RS256" or ("kid" in header and "private_key_id" in account and
                                             header["kid"] != account["private_key_id"]):
            raise ValueError("Invalid JWT Signature.")
        try:
            account["key"].verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(),
                                  hashes.SHA256())
        except InvalidSignature:
            raise ValueError("Invalid JWT Signature.") from None
        now, iat, exp = time.time(), claims.get("iat"), claims.get("exp")
        if not (isinstance(iat, (int, float)) and isinstance(exp, (int, float)) and iat <= now + 60 and exp > now
                and exp - iat <= 3600):
            raise ValueError("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
                             "timeframe. Check your iat and exp values in the JWT claim.")
        return account, claims

    def jwt_grant(self, assertion):
        try:
            account, claims = self.service_account_jwt(assertion)
        except ValueError as error:
            return 400, {"error": "invalid_grant", "error_description": str(error)}
        if claims.get("aud") not in (self.public_url + "/token", GOOGLE_TOKEN_URL):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: Failed audience check."}
        audience = claims.get("target_audience")
        if audience:
            return 200, {"id_token": self.id_token(audience, account["client_email"])}
        scopes = (claims.get("scope") or "").split()
        if not scopes:
            return 400, {"error": "invalid_scope",
                         "error_description": "Invalid OAuth scope or ID token audience provided."}
        return 200, self.access_token(account["client_email"], scopes, account.get("permissions", ["*"]))

    def refresh_grant(self, form):
        user = self.users.get(form.get("client_id"))
        if user is None or not hmac.compare_digest(user["client_secret"], form.get("client_secret", "")):
            return 401, {"error": "invalid_client", "error_description": "The OAuth client was not found."}
        if not hmac.compare_digest(user["refresh_token"], form.get("refresh_token", "")):
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
        answer = self.access_token(user["email"], [CLOUD_PLATFORM, "openid"], user.get("permissions", ["*"]))
        answer["scope"] = " ".join([CLOUD_PLATFORM, "openid"])
        answer["id_token"] = self.id_token(user["client_id"], user["email"])
        return 200, answer

    def access_token(self, principal, scopes, permissions):
        token = "ya29.standin-" + secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[token] = {"principal": principal, "scopes": scopes, "permissions": permissions,
                                  "expires": time.time() + self.token_seconds}
        return {"access_token": token, "expires_in": self.token_seconds, "token_type": "Bearer"}

    def id_token(self, audience, email):
        now = int(time.time())
        header = {"alg": "RS256", "kid": self.signing_kid, "typ": "JWT"}
        claims = {"aud": audience, "azp": email, "email": email, "email_verified": True, "exp": now + 3600,
                  "iat": now, "iss": "https://accounts.google.com",
                  "sub": str(int(hashlib.sha256(email.encode()).hexdigest()[:15], 16))}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self.signing_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def id_token_claims(self, token):
        """The claims of a live ID token this stand-in signed, or None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            self.signing_key.public_key().verify(b64url_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode(),
                                                 padding.PKCS1v15(), hashes.SHA256())
            claims = json.loads(b64url_decode(parts[1]))
        except (InvalidSignature, ValueError):
            return None
        return claims if claims.get("exp", 0) > time.time() else None

    # ---- the metadata server ----

    def metadata(self, path, query, headers):
        flavor = [["Metadata-Flavor", "Google"], ["Content-Type", "application/text"]]
        if headers.get("Metadata-Flavor") != "Google" or headers.get("X-Forwarded-For"):
            return 403, b"Missing required header: Metadata-Flavor", "text/html"
        account = self.accounts.get(self.metadata_account)
        if account is None:
            return 404, b"Not Found", "text/html"
        base = "/computeMetadata/v1/instance/service-accounts/default/"
        if path == base + "token":
            with self.lock:
                self.counters["metadata_tokens"] += 1
            answer = self.access_token(account["client_email"], [CLOUD_PLATFORM],
                                       account.get("permissions", ["*"]))
            return 200, json.dumps(answer).encode(), [["Metadata-Flavor", "Google"],
                                                     ["Content-Type", "application/json"]]
        if path == base + "identity":
            if not query.get("audience"):
                return 400, b"non-empty audience parameter required", "text/html"
            return 200, self.id_token(query["audience"], account["client_email"]).encode(), flavor
        if path == base + "email":
            return 200, account["client_email"].encode(), flavor
        if path == "/computeMetadata/v1/project/project-id":
            return 200, (self.metadata_project or "").encode(), flavor
        return 404, b"Not Found", "text/html"

    # ---- API checks ----

    def caller(self, authorization):
        scheme, _, token = (authorization or "").partition(" ")
        with self.lock:
            grant = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if grant is None and scheme.lower() == "bearer" and token.count(".") == 2:
            grant = self.self_signed_grant(token)
        if grant is None or grant["expires"] <= time.time():
            raise ApiError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                                "login cookie or other valid authentication credential. See "
                                "https://developers.google.com/identity/sign-in/web/devconsole-project.")
        if CLOUD_PLATFORM not in grant["scopes"]:
            raise ApiError(403, "Request had insufficient authentication scopes.")
        return grant

    def self_signed_grant(self, token):
        """A service account's self-signed JWT used as the bearer token itself, as Google's APIs take it
        (what the client libraries send): `aud` the API's address, or `scope`; None if it is not one."""
        try:
            account, claims = self.service_account_jwt(token)
        except ValueError:
            return None
        if claims.get("sub", claims["iss"]) != claims["iss"]:
            return None
        scopes = (claims.get("scope") or "").split()
        if claims.get("aud") in ("https://cloudfunctions.googleapis.com/", "https://cloudfunctions.googleapis.com"):
            scopes.append(CLOUD_PLATFORM)
        elif "aud" in claims:
            return None
        return {"principal": account["client_email"], "scopes": scopes, "expires": claims["exp"],
                "permissions": account.get("permissions", ["*"])}

    def allow(self, grant, project, location, permission, resource):
        if project in self.disabled:
            raise ApiError(403, f"Cloud Functions API has not been used in project {project} before or it is "
                                "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
                                f"cloudfunctions.googleapis.com/overview?project={project} then retry.",
                           details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason":
                                     "SERVICE_DISABLED", "domain": "googleapis.com",
                                     "metadata": {"service": "cloudfunctions.googleapis.com",
                                                  "consumer": f"projects/{project}"}}])
        granted = grant["permissions"]
        if project not in self.projects or not ("*" in granted or permission in granted):
            raise ApiError(403, f"Permission '{permission}' denied on '{resource}'",
                           details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                     "reason": "IAM_PERMISSION_DENIED", "domain": "cloudfunctions.googleapis.com",
                                     "metadata": {"permission": permission, "resource": resource}}])
        if location not in LOCATIONS and location != "-":
            raise ApiError(404, f"Location {location} is not found or access is unauthorized.")

    # ---- Operations and builds ----

    def settle(self):
        """Ends the operations whose time has come (called under the lock by every request)."""
        now = time.monotonic()
        for op in self.operations.values():
            if not op["done"] and now >= op["due"]:
                op["done"] = True
                op["finish"]()

    def new_operation(self, project, location, verb, target, finish):
        name = f"projects/{project}/locations/{location}/operations/operation-{int(time.time() * 1000)}-" \
               f"{secrets.token_hex(16)}"
        op = {"name": name, "verb": verb, "target": target, "created": time.time(), "ended": None,
              "due": time.monotonic() + self.operation_seconds, "done": False, "response": None, "error": None}

        def run():
            op["ended"] = time.time()
            op["response"], op["error"] = finish()

        op["finish"] = run
        self.operations[name] = op
        return op

    def operation_json(self, op, ints):
        metadata = {"@type": "type.googleapis.com/google.cloud.functions.v2.OperationMetadata",
                    "createTime": rfc3339(op["created"]), "target": op["target"], "verb": op["verb"],
                    "cancelRequested": False, "apiVersion": "v2"}
        if op["ended"]:
            metadata["endTime"] = rfc3339(op["ended"])
        out = {"name": op["name"], "metadata": metadata, "done": op["done"]}
        if op["done"] and op["error"]:
            out["error"] = op["error"]
        elif op["done"]:
            out["response"] = op["response"]
            if ints and "state" in op["response"]:
                out["response"] = enums_as_ints(op["response"])
        return out

    def build(self, function, spec):
        """Unpacks the uploaded zip for SPEC; returns an error dict or None."""
        storage = spec["buildConfig"]["source"]["storageSource"]
        stored = self.objects.get((storage.get("bucket"), storage.get("object")))
        where = f"gs://{storage.get('bucket')}/{storage.get('object')}"
        if stored is None or (str(storage.get("generation", 0)) != "0" and str(storage["generation"]) != str(stored[0])):
            return {"code": 9, "message": f"Build failed: the source object {where} does not exist.",
                    "details": []}
        try:
            archive = zipfile.ZipFile(io.BytesIO(stored[1]))
            main = archive.read("main.py").decode()
        except (zipfile.BadZipFile, KeyError, UnicodeDecodeError):
            return {"code": 3, "message": "Build failed: missing main.py and/or requirements.txt in the source "
                                          f"{where} (a zip with main.py at its root).", "details": []}
        entry = spec["buildConfig"]["entryPoint"]
        if not re.search(rf"^(def|class)\s+{re.escape(entry)}\b|^{re.escape(entry)}\s*=", main, re.M):
            return {"code": 3, "message": f"Build failed: Function '{entry}' is not defined in the provided "
                                          "module. Did you specify the correct target function to execute?",
                    "details": []}
        function["revision_number"] += 1
        revision = f"{function['id']}-{function['revision_number']:05d}-{secrets.token_hex(2)}"
        folder = os.path.join(self.workdir, "sources", revision)
        archive.extractall(folder)
        function["source_dir"], function["revision"] = folder, revision
        return None

    # ---- the functions resource ----

    def function_json(self, f, ints):
        out = {"name": f["name"], "buildConfig": json.loads(json.dumps(f["buildConfig"])),
               "serviceConfig": json.loads(json.dumps(f["serviceConfig"])), "state": f["state"],
               "updateTime": rfc3339(f["updated"]), "createTime": rfc3339(f["created"]),
               "environment": f["environment"], "url": f["url"], "labels": f.get("labels") or {}}
        if f.get("description"):
            out["description"] = f["description"]
        if f["state_messages"]:
            out["stateMessages"] = f["state_messages"]
        out["serviceConfig"].update({"uri": f["url"], "service": f"projects/{f['project']}/locations/"
                                     f"{f['location']}/services/{f['id']}"})
        if f.get("revision"):
            out["serviceConfig"]["revision"] = f["revision"]
        return enums_as_ints(out) if ints else out

    def validate(self, spec):
        build, service = spec.get("buildConfig") or {}, spec.get("serviceConfig") or {}
        if build.get("runtime") not in RUNTIMES:
            raise ApiError(400, f"Invalid value for buildConfig.runtime: '{build.get('runtime', '')}'. Runtimes "
                                f"supported: {', '.join(sorted(RUNTIMES))}.")
        if not build.get("entryPoint"):
            raise ApiError(400, "buildConfig.entryPoint is required.")
        storage = get_path(build, "source.storageSource") or {}
        if not storage.get("bucket") or not storage.get("object"):
            raise ApiError(400, "buildConfig.source.storageSource: bucket and object are required.")
        memory_bytes(service.setdefault("availableMemory", "256M"))
        timeout = service.setdefault("timeoutSeconds", 60)
        limit = 540 if spec["environment"] == "GEN_1" else 3600
        if not isinstance(timeout, int) or not 1 <= timeout <= limit:
            raise ApiError(400, f"Invalid value for serviceConfig.timeoutSeconds: {timeout}. It must be between 1 "
                                f"and {limit} seconds for a {spec['environment']} function.")
        count = service.setdefault("maxInstanceCount", 100)
        if not isinstance(count, int) or count < 0:
            raise ApiError(400, f"Invalid value for serviceConfig.maxInstanceCount: {count}.")
        env = service.get("environmentVariables") or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise ApiError(400, "serviceConfig.environmentVariables: keys and values must be strings.")
        service.setdefault("ingressSettings", "ALLOW_ALL")
        service["ingressSettings"] = enum_name("ingressSettings", service["ingressSettings"])

    def create(self, grant, project, location, query, body, ints):
        function_id = query.get("functionId", "")
        parent = f"projects/{project}/locations/{location}"
        self.allow(grant, project, location, "cloudfunctions.functions.create", f"{parent}/functions/{function_id}")
        if location == "-":
            raise ApiError(400, "A location is required to create a function.")
        if not function_id and body.get("name"):
            function_id = body["name"].rsplit("/", 1)[-1]
        if not FUNCTION_ID.match(function_id):
            raise ApiError(400, f"Invalid function ID '{function_id}': it must be 4 to 63 characters, lowercase "
                                "letters, digits and hyphens, starting with a letter and not ending with a hyphen.")
        name = f"{parent}/functions/{function_id}"
        if body.get("name") not in (None, "", name):
            raise ApiError(400, f"function.name '{body['name']}' does not match the functionId '{function_id}'.")
        spec = {"buildConfig": body.get("buildConfig") or {}, "serviceConfig": body.get("serviceConfig") or {},
                "environment": enum_name("environment", body.get("environment", "GEN_2")),
                "labels": body.get("labels") or {}, "description": body.get("description", "")}
        if spec["environment"] == "ENVIRONMENT_UNSPECIFIED":
            spec["environment"] = "GEN_2"
        self.validate(spec)
        if name in self.functions:
            raise ApiError(409, f"Function {function_id} in region {location} in project {project} already exists")
        now = time.time()
        f = dict(spec, name=name, id=function_id, project=project, location=location, state="DEPLOYING",
                 state_messages=[], created=now, updated=now, revision_number=0, busy=True, log=collections.deque(
                     maxlen=2000), url=f"{self.public_url}/functions/{project}/{location}/{function_id}")
        self.functions[name] = f

        def finish():
            f["busy"] = False
            error = self.build(f, spec)
            f["state"] = "FAILED" if error else "ACTIVE"
            f["state_messages"] = [{"severity": "ERROR", "type": "BuildFailed", "message": error["message"]}] \
                if error else []
            f["updated"] = time.time()
            return (None, error) if error else (self.function_response(f), None)

        op = self.new_operation(project, location, "create", name, finish)
        return 200, self.operation_json(op, ints)

    def patch(self, grant, name, query, body, ints):
        f = self.function(grant, name, "cloudfunctions.functions.update")
        mask = query.get("updateMask")
        if mask is None:  # every settable field the body sends
            paths = []
            for key, value in body.items():
                if isinstance(SETTABLE.get(key), dict):
                    paths += [f"{key}.{sub}" for sub in value if sub in SETTABLE[key]]
                elif key in SETTABLE and key != "name":
                    paths.append(key)
        else:
            paths = [camel(p.strip()) for p in mask.split(",") if p.strip()]
        if not paths:
            raise ApiError(400, "updateMask: no field to update was named.")
        for path in paths:
            if not mask_path_known(path) or path == "name":
                raise ApiError(400, f"Invalid field mask path: '{path}' is not a settable field of Function.")
            if path == "environment" and enum_name("environment", body.get("environment")) != f["environment"]:
                raise ApiError(400, "The environment of a function cannot be changed.")
        if f["busy"]:
            raise ApiError(409, f"An operation on function {name} is already in progress. Please try again "
                                "later.", "ABORTED")
        spec = json.loads(json.dumps({k: f[k] for k in ("buildConfig", "serviceConfig", "environment", "labels",
                                                         "description")}))
        for path in paths:
            set_path(spec, path, get_path(body, path))
        spec["buildConfig"] = spec.get("buildConfig") or {}
        spec["serviceConfig"] = spec.get("serviceConfig") or {}
        self.validate(spec)
        f["busy"], f["state"] = True, "DEPLOYING"
        project, location = f["project"], f["location"]

        def finish():
            f["busy"] = False
            if any(p.startswith("buildConfig") for p in paths):
                error = self.build(f, spec)
                if error:
                    f["state"] = "FAILED"
                    f["state_messages"] = [{"severity": "ERROR", "type": "BuildFailed", "message": error["message"]}]
                    return None, error
            else:
                f["revision_number"] += 1
                f["revision"] = f"{f['id']}-{f['revision_number']:05d}-{secrets.token_hex(2)}"
            f.update(spec)
            f["state"], f["state_messages"], f["updated"] = "ACTIVE", [], time.time()
            self.retire(f["name"])
            return self.function_response(f), None

        op = self.new_operation(project, location, "update", name, finish)
        return 200, self.operation_json(op, ints)

    def function_response(self, f):
        return dict(self.function_json(f, False), **{"@type": "type.googleapis.com/google.cloud.functions.v2.Function"})

    def delete(self, grant, name, ints):
        f = self.function(grant, name, "cloudfunctions.functions.delete")
        if f["busy"]:
            raise ApiError(409, f"An operation on function {name} is already in progress. Please try again "
                                "later.", "ABORTED")
        f["busy"], f["state"] = True, "DELETING"

        def finish():
            self.functions.pop(name, None)
            self.policies.pop(name, None)
            self.policies.pop(name.replace("/functions/", "/services/"), None)
            self.retire(name)
            return {"@type": "type.googleapis.com/google.protobuf.Empty"}, None

        op = self.new_operation(f["project"], f["location"], "delete", name, finish)
        return 200, self.operation_json(op, ints)

    def function(self, grant, name, permission):
        m = re.fullmatch(r"projects/([^/]+)/locations/([^/]+)/functions/([^/]+)", name)
        if not m:
            raise ApiError(404, f"Resource '{name}' was not found")
        self.allow(grant, m.group(1), m.group(2), permission, name)
        f = self.functions.get(name)
        if f is None:
            raise ApiError(404, f"Resource '{name}' was not found")
        return f

    def list(self, grant, project, location, query, ints):
        self.allow(grant, project, location, "cloudfunctions.functions.list",
                   f"projects/{project}/locations/{location}")
        try:
            size = int(query.get("pageSize") or 0) or 1000
            start = int(query.get("pageToken") or 0)
        except ValueError:
            raise ApiError(400, "Invalid pageSize or pageToken.") from None
        names = sorted(n for n, f in self.functions.items()
                       if f["project"] == project and (location == "-" or f["location"] == location))
        out = {"functions": [self.function_json(self.functions[n], ints) for n in names[start:start + size]]}
        if start + size < len(names):
            out["nextPageToken"] = str(start + size)
        return 200, out

    def generate_upload_url(self, grant, project, location):
        self.allow(grant, project, location, "cloudfunctions.functions.sourceCodeSet",
                   f"projects/{project}/locations/{location}")
        bucket = f"gcf-v2-uploads-{int(hashlib.sha256(project.encode()).hexdigest()[:11], 16)}-{location}"
        obj = f"{secrets.token_hex(16)}.zip"
        expires = int(time.time()) + 1800
        signature = self.upload_signature(bucket, obj, expires)
        url = (f"{self.public_url}/upload/{bucket}/{obj}?X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Expires="
               f"{expires}&X-Goog-SignedHeaders=content-type%3Bhost&X-Goog-Signature={signature}")
        return 200, {"uploadUrl": url, "storageSource": {"bucket": bucket, "object": obj}}

    def upload_signature(self, bucket, obj, expires):
        return hmac.new(self.upload_secret, f"{bucket}/{obj}/{expires}".encode(), "sha256").hexdigest()

    def upload(self, bucket, obj, query, headers, body):
        def xml(status, code, message):
            return status, (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}"
                            "</Message></Error>").encode(), "application/xml; charset=UTF-8"
        try:
            expires = int(query.get("X-Goog-Expires", ""))
        except ValueError:
            return xml(400, "AuthenticationRequired", "Authentication required.")
        good = self.upload_signature(bucket, obj, expires)
        if not hmac.compare_digest(good, query.get("X-Goog-Signature", "")):
            return xml(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                       "signature you provided. Check your Google secret key and signing method.")
        if headers.get("Authorization"):
            return xml(400, "InvalidArgument", "Multiple authentication methods: use either the signed URL or "
                       "the Authorization header, not both.")
        if (headers.get("Content-Type") or "").split(";")[0].strip() != "application/zip":
            return xml(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                       "signature you provided: the signed URL requires Content-Type: application/zip.")
        if expires < time.time():
            return xml(400, "ExpiredToken", "Invalid argument: the signed URL has expired.")
        generation = int(time.time() * 1e6)
        self.objects[(bucket, obj)] = (generation, body)
        return 200, b"", "text/plain"

    # ---- calling a function ----

    # ---- invoker policies ----

    def policy_target(self, path):
        """(resource, function, permission prefix) for a getIamPolicy / setIamPolicy path, or None."""
        m = re.fullmatch(r"projects/([^/]+)/locations/([^/]+)/services/([^/:]+)", path)
        if m:
            f = self.functions.get(f"projects/{m.group(1)}/locations/{m.group(2)}/functions/{m.group(3)}")
            if f is None or f["environment"] != "GEN_2":
                raise ApiError(404, f"Resource '{m.group(3)}' of kind 'SERVICE' in region '{m.group(2)}' in project "
                                    f"'{m.group(1)}' does not exist.")
            return path, f, "run.services"
        m = re.fullmatch(r"projects/([^/]+)/locations/([^/]+)/functions/([^/:]+)", path)
        if m:
            f = self.functions.get(path)
            if f is None:
                raise ApiError(404, f"Function {m.group(3)} in region {m.group(2)} in project {m.group(1)} does "
                                    "not exist")
            return path, f, "cloudfunctions.functions"
        return None

    def get_policy(self, grant, path):
        resource, f, prefix = self.policy_target(path)
        self.allow(grant, f["project"], f["location"], prefix + ".getIamPolicy", resource)
        return 200, self.policies.get(resource) or {"version": 1, "etag": "ACAB"}

    def set_policy(self, grant, path, body):
        resource, f, prefix = self.policy_target(path)
        self.allow(grant, f["project"], f["location"], prefix + ".setIamPolicy", resource)
        check_fields(body, {"policy": None, "updateMask": None}, "request")
        policy = body.get("policy")
        if not isinstance(policy, dict):
            raise ApiError(400, "Invalid JSON payload received: policy is required.")
        check_fields(policy, {"version": None, "etag": None, "bindings": None, "auditConfigs": None}, "policy")
        current = self.policies.get(resource) or {"version": 1, "etag": "ACAB"}
        if policy.get("etag") and policy["etag"] != current["etag"]:
            raise ApiError(409, "There were concurrent policy changes. Please retry the whole read-modify-write "
                                "with exponential backoff.", status="ABORTED")
        bindings = policy.get("bindings") or []
        for binding in bindings:
            check_fields(binding, {"role": None, "members": None, "condition": None}, "binding")
            if not str(binding.get("role", "")).startswith("roles/"):
                raise ApiError(400, f"Role ({binding.get('role')}) does not exist in the resource's hierarchy.")
            for member in binding.get("members") or []:
                if member not in ("allUsers", "allAuthenticatedUsers") and not re.fullmatch(
                        r"(user|serviceAccount|group|domain|principal|principalSet):.+", member):
                    raise ApiError(400, f"Invalid member: {member}")
        stored = {"version": policy.get("version", 1), "etag": b64url(secrets.token_bytes(8)),
                  "bindings": [b for b in bindings if b.get("members")]}
        self.policies[resource] = stored
        return 200, stored

    def open_to_all(self, f):
        """Whether the function's invoker policy lets anyone call it."""
        if f["environment"] == "GEN_2":
            policy, role = self.policies.get(f"projects/{f['project']}/locations/{f['location']}/services/{f['id']}"), \
                "roles/run.invoker"
        else:
            policy, role = self.policies.get(f["name"]), "roles/cloudfunctions.invoker"
        return any(b.get("role") == role and "allUsers" in (b.get("members") or [])
                   for b in (policy or {}).get("bindings", []))

    def retire(self, name):
        for instance in self.instances.pop(name, []):
            if not instance.busy:
                instance.stop()

    def invoke(self, name, method, path, query, headers, body):
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        with self.lock:
            self.settle()
            f = self.functions.get(name)
            if f is None or f["state"] not in ("ACTIVE", "DEPLOYING") or not f.get("revision"):
                return 404, b"<html><body><h1>Page not found</h1></body></html>", "text/html"
            if not self.open_to_all(f):
                if scheme.lower() != "bearer" or not token:
                    return 401, b"Your client does not have permission to the requested URL.", "text/html"
                claims = self.id_token_claims(token)
                if claims is None or claims.get("aud") != f["url"]:
                    return 403, b"Your client does not have permission to get URL from this server.", "text/html"
            instance = next((i for i in self.instances[name] if not i.busy and i.revision == f["revision"]), None)
            if instance is None:
                if len(self.instances[name]) >= (f["serviceConfig"].get("maxInstanceCount") or 100):
                    self.counters["throttled_429"] += 1
                    return 429, b"Rate exceeded.", "text/plain"
                instance = Instance(f, f["revision"])
                self.instances[name].append(instance)
            instance.busy = True
            timeout = f["serviceConfig"]["timeoutSeconds"]
            memory_mib = memory_bytes(f["serviceConfig"]["availableMemory"]) // 1024 ** 2
        answer = self.run(instance, method, path, query, headers, body, timeout, memory_mib)
        with self.lock:
            instance.busy = False
            retired = instance not in self.instances.get(name, [])
            if retired or instance.dead or instance.process.poll() is not None:
                instance.stop()
                if not retired:
                    self.instances[name].remove(instance)
        return answer

    def run(self, instance, method, path, query, headers, body, timeout, memory_mib):
        deadline = time.monotonic() + timeout
        if instance.cold:
            instance.cold = False
            ready = instance.read_line(deadline)
            if not ready or "ready" not in ready:
                instance.kill()
                if ready is None:
                    return 504, b"upstream request timeout", "text/plain"
                return 500, b"Error: could not handle the request", "text/plain"
        request = {"method": method, "path": path, "query": query,
                   "headers": {k: v for k, v in headers.items() if k.lower() != "authorization"},
                   "body": base64.b64encode(body).decode()}
        try:
            instance.process.stdin.write((json.dumps(request) + "\n").encode())
            instance.process.stdin.flush()
        except BrokenPipeError:
            instance.kill()
            return 500, b"Error: could not handle the request", "text/plain"
        reply = instance.read_line(deadline)
        if reply is None:
            with self.lock:
                self.counters["timeouts_504"] += 1
            instance.kill()
            instance.log.append("The request has been terminated because it has reached the maximum request "
                                "timeout.")
            return 504, b"upstream request timeout", "text/plain"
        if reply.get("memory_exceeded") or "status" not in reply:
            instance.kill()
            instance.log.append(f"Memory limit of {memory_mib} MiB exceeded.")
            return 500, b"Error: could not handle the request", "text/plain"
        return reply["status"], base64.b64decode(reply["body"]), reply["headers"]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    standin = None

    def log_message(self, format, *args):
        pass

    def send(self, status, body, content_type="application/json; charset=UTF-8"):
        data = body if isinstance(body, bytes) else (json.dumps(body, indent=2) + "\n").encode()
        self.send_response(status)
        headers = content_type if isinstance(content_type, list) else [["Content-Type", content_type]]
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        s = self.standin
        path = urllib.parse.unquote(url.path)
        try:
            if path == "/token" and self.command == "POST":
                form = dict(urllib.parse.parse_qsl(body.decode(errors="replace")))
                return self.send(*s.token(form))
            m = re.fullmatch(r"/upload/([^/]+)/([^/]+)", path)
            if m and self.command == "PUT":
                with s.lock:
                    return self.send(*s.upload(m.group(1), m.group(2), query, self.headers, body))
            m = re.fullmatch(r"/functions/([^/]+)/([^/]+)/([^/]+)(/.*)?", path)
            if m:
                name = f"projects/{m.group(1)}/locations/{m.group(2)}/functions/{m.group(3)}"
                return self.send(*s.invoke(name, self.command, m.group(4) or "/", url.query, self.headers,
                                           body))
            if path.startswith("/computeMetadata/") and self.command == "GET":
                return self.send(*s.metadata(path, query, self.headers))
            if path == "/_standin/stats":
                with s.lock:
                    return self.send(200, dict(s.counters))
            m = re.fullmatch(r"/_standin/logs/([^/]+)/([^/]+)/([^/]+)", path)
            if m:
                with s.lock:
                    f = s.functions.get(f"projects/{m.group(1)}/locations/{m.group(2)}/functions/{m.group(3)}")
                    return self.send(200, {"lines": list(f["log"]) if f else []})
            if path.startswith("/v2/"):
                return self.send(*self.api(path[4:], query, body))
            raise ApiError(404, f"The requested URL {path} was not found on this server.")
        except ApiError as error:
            detail = {"code": error.code, "message": error.message, "status": error.status}
            if error.details:
                detail["details"] = error.details
            return self.send(error.code, {"error": detail})

    def api(self, path, query, body):
        s = self.standin
        alt = query.pop("$alt", query.pop("alt", "json"))
        ints = "enum-encoding=int" in alt
        grant = s.caller(self.headers.get("Authorization"))
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            raise ApiError(400, "Invalid JSON payload received. Unexpected token.") from None
        method = self.command
        with s.lock:
            s.settle()
            m = re.fullmatch(r"projects/([^/]+)/locations/([^/]+)/functions(:generateUploadUrl)?", path)
            if m and m.group(3):
                self.allowed(query, method, "POST", ())
                check_fields(data, {"kmsKeyName": None, "environment": None}, "request")
                return s.generate_upload_url(grant, m.group(1), m.group(2))
            if m and method == "POST":
                self.allowed(query, method, "POST", ("functionId",))
                check_fields(data, SETTABLE, "function")
                return s.create(grant, m.group(1), m.group(2), query, data, ints)
            if m:
                self.allowed(query, method, "GET", ("pageSize", "pageToken", "filter", "orderBy"))
                return s.list(grant, m.group(1), m.group(2), query, ints)
            m = re.fullmatch(r"projects/[^/]+/locations/[^/]+/functions/[^/:]+", path)
            if m and method == "GET":
                self.allowed(query, method, "GET", ())
                return 200, s.function_json(s.function(grant, path, "cloudfunctions.functions.get"), ints)
            if m and method == "PATCH":
                self.allowed(query, method, "PATCH", ("updateMask",))
                check_fields(data, SETTABLE, "function")
                return s.patch(grant, path, query, data, ints)
            if m and method == "DELETE":
                self.allowed(query, method, "DELETE", ())
                return s.delete(grant, path, ints)
            m = re.fullmatch(r"(projects/[^/]+/locations/[^/]+/(?:services|functions)/[^/:]+):(get|set)IamPolicy",
                             path)
            if m and m.group(2) == "get":
                self.allowed(query, method, "GET", ("options.requestedPolicyVersion",))
                return s.get_policy(grant, m.group(1))
            if m:
                self.allowed(query, method, "POST", ())
                return s.set_policy(grant, m.group(1), data)
            m = re.fullmatch(r"projects/([^/]+)/locations/([^/]+)/operations/[^/]+", path)
            if m and method == "GET":
                self.allowed(query, method, "GET", ())
                s.allow(grant, m.group(1), m.group(2), "cloudfunctions.operations.get", path)
                op = s.operations.get(path)
                if op is None:
                    raise ApiError(404, f"Operation '{path}' was not found.")
                return 200, s.operation_json(op, ints)
        raise ApiError(404, f"The requested URL /v2/{path} was not found on this server.")

    @staticmethod
    def allowed(query, method, wanted, names):
        if method != wanted:
            raise ApiError(404, f"Method {method} is not allowed here.")
        for name in query:
            if name not in names and name not in ("key", "prettyPrint", "fields"):
                raise ApiError(400, f"Invalid JSON payload received. Unknown name \"{name}\": Cannot bind query "
                                    f"parameter. Field '{name}' could not be found in request message.")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--public-url")
    parser.add_argument("--operation-seconds", type=float, default=1.0)
    parser.add_argument("--token-seconds", type=int, default=3599)
    parser.add_argument("--watch-stdin", action="store_true")
    args = parser.parse_args()
    with open(args.config) as file:
        config = json.load(file)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    workdir = tempfile.mkdtemp(prefix="gcf-standin-")
    Handler.standin = Standin(config, args.public_url or f"http://127.0.0.1:{port}", args.operation_seconds,
                              args.token_seconds, workdir)
    standin_process.serve(server, workdir, args.watch_stdin)


if __name__ == "__main__":
    main()
