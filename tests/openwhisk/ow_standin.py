"""A stand-in for Apache OpenWhisk's controller (IBM Cloud Functions is
OpenWhisk), as strict as OpenWhisk, on loopback over plain HTTP (put
tests/support/tls_terminator.py in front for HTTPS). Built from
/work/shared/platform-api.md's facts and OpenWhisk's public REST API
reference; checked by the official `openwhisk` npm client
(tests/openwhisk/node).

    python3 ow_standin.py --config FILE [--port 0] [--controller-wait 60]
                          [--max-memory 2048] [--max-timeout 600000]
                          [--max-code-bytes 50331648] [--concurrency 100]
                          [--iam-token-seconds 3600] [--watch-stdin]

prints its port on the first line of stdout and serves until killed (with
--watch-stdin also until stdin closes, so it never outlives its test).
FILE is JSON written by the test:

    {"subjects": [{"auth": "UUID:KEY", "namespace": "guest"}, ...],
     "iam_namespaces": [{"id": "NAMESPACE-ID", "apikeys": ["IBM Cloud API key", ...]}, ...]}

The limits' defaults are IBM Cloud Functions' (memory 128-2048 MB,
timeout 100 ms-600 s, code 48 MB); Apache OpenWhisk's own defaults are
512 MB and 300 s, hence the options. What it checks, as OpenWhisk does:

- Every /api/v1 call needs HTTP Basic auth with a subject's UUID:KEY (401
  without it or with a wrong key). Namespace `_` is the caller's own; any
  other but the caller's is 403.
- IBM Cloud's IAM-based namespaces (`iam_namespaces`, named by their ID)
  take only `Authorization: Bearer TOKEN` (Basic there is 401, as is an
  unknown or expired token; a token whose API key is not one of the
  namespace's is 403; a token on `_` or on a Basic namespace is 403, since
  a bearer has no namespace of its own). Tokens come from IAM's API-key
  grant, served here too: POST /identity/token with the form
  grant_type=urn:ibm:params:oauth:grant-type:apikey&apikey=KEY (form
  content type required) answers {"access_token", "refresh_token",
  "token_type": "Bearer", "expires_in", "expiration", "scope"}; tokens
  live --iam-token-seconds (short ones test refreshing). IAM's errors are
  {"errorCode": "BXNIM...", "errorMessage", "errorDetails", "context"}:
  BXNIM0109E (400) for a missing grant_type or apikey, BXNIM0415E (400)
  for a key IAM does not know, 400 for another grant or content type.
- GET /_standin/stats (no auth) counts IAM's token grants
  (`iam_tokens`) and calls refused for an expired token
  (`expired_token_calls`), for tests of a client's token cache.
- Errors are {"error": "...", "code": "<transaction id>"}, with the
  transaction id also in the x-request-id header.
- /namespaces lists the caller's namespace.
- /namespaces/NS/actions lists actions (limit 0-200, skip; no code);
  .../actions/NAME: PUT creates (409 when the action exists, unless
  ?overwrite=true, which updates: fields not sent are kept and the version
  goes up), GET (?code=false leaves the code out), DELETE. `exec` needs
  `kind` (python:3.x, python:default) and `code`; `binary` (a base64 zip)
  is inferred when not sent, as OpenWhisk does; `main` defaults to
  "main". `limits`: memory, timeout, logs, concurrency, each within its
  range (400 outside, with OpenWhisk's threshold message). Code over
  --max-code-bytes is 413; a JSON body of another content type 415.
- POST .../actions/NAME invokes with the body as parameters (merged over
  the action's own; over 1 MB is 413). Not blocking: 202
  {"activationId"}. blocking=true waits up to --controller-wait seconds:
  then 200 with the activation (or, with result=true, its result), 502
  when the action failed (an application error: a result with `error`; a
  developer error: an exception, no dict, timeout, memory), or 202
  {"activationId"} when the wait ran out (the activation goes on). The
  x-openwhisk-activation-id header is on every answer to an invoke. Over
  --concurrency activations in flight in a namespace is 429.
- The action runs for real: a container is a fresh Python process per
  cold start (ow_action_host.py), with its own TMPDIR, that imports the zip's __main__.py (or
  the source) and calls `main(params)`, one activation at a time, reused
  warm until the action changes or is deleted; killed at the timeout;
  memory capped (RLIMIT_AS) at the memory limit. Inside, __OW_ACTION_NAME,
  __OW_ACTIVATION_ID, __OW_NAMESPACE, __OW_API_HOST, __OW_DEADLINE,
  __OW_TRANSACTION_ID and __OW_ACTION_VERSION are set.
- /namespaces/NS/activations/ID answers a finished activation (404 while
  it runs): logs ("<time> stdout: ..."), response {status, statusCode,
  success, result}, start, end, duration, annotations (path, waitTime,
  kind, timeout, limits, and initTime on a cold start); .../ID/logs and
  .../ID/result their parts; /activations lists (name, limit, skip, docs).
"""
import argparse
import base64
import binascii
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "support"))
import standin_process  # noqa: E402  (tests/support: the port line, --watch-stdin, the clean-up)

HOST_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ow_action_host.py")
SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
KINDS = {"python:3.7", "python:3.9", "python:3.10", "python:3.11", "python:3.12", "python:default"}
NAME = re.compile(r"^[\w@.-]([\w@ .-]{0,254}[\w@.-])?$")
BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
PAYLOAD_MAX = 1024 * 1024
LOGS_MAX_MB = 10
NOT_FOUND = "The requested resource does not exist."
STATUS = {0: "success", 1: "application error", 2: "action developer error", 3: "whisk internal error"}


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}000Z"


def key_values(value, field):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(p, dict) and isinstance(p.get("key"), str)
                                              for p in value):
        raise ApiError(400, f"The request content was malformed:\n'{field}' must be an array of key-value pairs")
    return value


class Container:
    """One Python process running one version of an action; one activation at a time."""

    def __init__(self, action, api_host, workdir):
        self.version, self.busy, self.dead, self.activations = action["version"], True, False, 0
        self.lines, self.sentinels = [], {"stdout": 0, "stderr": 0}
        self.cond = threading.Condition()
        self.folder = tempfile.mkdtemp(prefix="container-", dir=workdir)
        exec_ = action["exec"]
        if exec_["binary"]:
            with zipfile.ZipFile(io.BytesIO(base64.b64decode(exec_["code"]))) as archive:
                archive.extractall(self.folder)
        else:
            with open(os.path.join(self.folder, "__main__.py"), "w") as source:
                source.write(exec_["code"])
        # the container's own /tmp: SAAF's container id in it says cold or warm
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1",
               "__OW_API_HOST": api_host, "TMPDIR": tempfile.mkdtemp(prefix="tmp-", dir=self.folder)}
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, HOST_SCRIPT, self.folder, exec_.get("main") or "main",
             str(action["limits"]["memory"] * 1024 * 1024), str(write_fd)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=self.folder,
            pass_fds=(write_fd,), start_new_session=True)
        os.close(write_fd)
        self.reply = os.fdopen(read_fd, "rb")
        for name, stream in (("stdout", self.process.stdout), ("stderr", self.process.stderr)):
            threading.Thread(target=self._read_log, args=(name, stream), daemon=True).start()

    def _read_log(self, name, stream):
        for raw in stream:
            text = raw.decode(errors="replace").rstrip("\n")
            with self.cond:
                if text == SENTINEL:
                    self.sentinels[name] += 1
                else:
                    self.lines.append(f"{iso(now_ms())} {name}: {text}")
                self.cond.notify_all()
        with self.cond:
            self.sentinels[name] = 1 << 30  # the stream ended: nothing more will come
            self.cond.notify_all()

    def read_reply(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([self.reply], [], [], left)[0]:
            return None
        line = self.reply.readline()
        return json.loads(line) if line else {}

    def take_logs(self, wait_seconds):
        """This activation's log lines, once both streams have passed its sentinel (or WAIT_SECONDS)."""
        deadline = time.monotonic() + wait_seconds
        with self.cond:
            while min(self.sentinels.values()) < self.activations and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            lines, self.lines = self.lines, []
        return lines

    def kill(self):
        self.dead = True
        self.process.kill()

    def alive(self):
        return not self.dead and self.process.poll() is None

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.reply):
            try:
                stream.close()
            except OSError:  # a request the container never read: the pipe is broken
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


IAM_GRANT = "urn:ibm:params:oauth:grant-type:apikey"


class IamError(Exception):
    def __init__(self, status, code, message, details):
        super().__init__(message)
        self.status, self.body = status, {"errorCode": code, "errorMessage": message, "errorDetails": details,
                                          "context": {"requestId": secrets.token_hex(16), "url": "ow_standin"}}


class Standin:
    def __init__(self, config, args, api_host, workdir):
        self.subjects = {s["auth"]: s["namespace"] for s in config.get("subjects", [])}
        self.iam_namespaces = {n["id"]: set(n["apikeys"]) for n in config.get("iam_namespaces", [])}
        self.iam_token_seconds = args.iam_token_seconds
        self.tokens = {}        # access token -> (API key, expiry time.monotonic())
        self.stats = {"iam_tokens": 0, "expired_token_calls": 0}
        self.controller_wait, self.concurrency = args.controller_wait, args.concurrency
        self.max_memory, self.max_timeout, self.max_code = args.max_memory, args.max_timeout, args.max_code_bytes
        self.api_host, self.workdir = api_host, workdir
        self.lock = threading.RLock()
        self.actions = {}       # (namespace, name) -> action record
        self.activations = {}   # activation id -> finished activation record
        self.in_flight = {}     # namespace -> activations running
        self.containers = {}    # (namespace, name) -> [Container]

    # ---- who is calling ----

    def iam_token(self, content_type, form):
        """IAM's API-key grant: the token answer, or IamError."""
        if content_type != "application/x-www-form-urlencoded":
            raise IamError(400, "BXNIM0109E", "Property missing or empty.",
                           "Property 'grant_type' either missing or empty.")
        fields = dict(urllib.parse.parse_qsl(form, keep_blank_values=True))
        for name in ("grant_type", "apikey"):
            if not fields.get(name):
                raise IamError(400, "BXNIM0109E", "Property missing or empty.",
                               f"Property '{name}' either missing or empty.")
        if fields["grant_type"] != IAM_GRANT:
            raise IamError(400, "BXNIM0103E", "The grant type is not supported.",
                           f"Grant type '{fields['grant_type']}' is not supported.")
        apikey = fields["apikey"]
        if not any(hmac.compare_digest(apikey.encode(), known.encode())
                   for keys in self.iam_namespaces.values() for known in keys):
            raise IamError(400, "BXNIM0415E", "Provided API key could not be found.",
                           "BXNIM0102E: Unable to find Object. Object Type: 'ApiKey' not found.")
        token = "iam-" + secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[token] = (apikey, time.monotonic() + self.iam_token_seconds)
            self.stats["iam_tokens"] += 1
        return {"access_token": token, "refresh_token": "not_supported", "token_type": "Bearer",
                "expires_in": self.iam_token_seconds, "expiration": int(time.time()) + self.iam_token_seconds,
                "scope": "ibm openid"}

    def bearer_namespace(self, token, wanted):
        held = self.tokens.get(token)
        if held is None:
            raise ApiError(401, "The supplied authentication is invalid")
        apikey, expires = held
        if time.monotonic() >= expires:
            self.stats["expired_token_calls"] += 1
            raise ApiError(401, "The supplied authentication is invalid: the IAM token has expired")
        if wanted is None or wanted == "_":
            raise ApiError(403, "An IAM token has no namespace of its own: name the IAM-based namespace by its ID.")
        if wanted not in self.iam_namespaces or apikey not in self.iam_namespaces[wanted]:
            raise ApiError(403, f"The supplied authentication is not authorized to access '{wanted}'.")
        return wanted

    def namespace(self, authorization, wanted):
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and encoded:
            return self.bearer_namespace(encoded, wanted)
        if wanted in self.iam_namespaces:
            raise ApiError(401, "The supplied authentication is invalid: an IAM-based namespace takes an IAM "
                                "token (Authorization: Bearer)")
        if scheme.lower() != "basic" or not encoded:
            raise ApiError(401, "The resource requires authentication, which was not supplied with the request")
        try:
            given = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(401, "The supplied authentication is invalid") from None
        own = None
        for auth, namespace in self.subjects.items():
            if hmac.compare_digest(auth.encode(), given.encode()):
                own = namespace
        if own is None:
            raise ApiError(401, "The supplied authentication is invalid")
        if wanted is not None and wanted not in ("_", own):
            raise ApiError(403, f"The supplied authentication is not authorized to access '{wanted}'.")
        return own

    # ---- actions ----

    def check_limits(self, limits, old):
        if not isinstance(limits, dict):
            raise ApiError(400, "The request content was malformed:\n'limits' must be an object")
        out = dict(old)
        ranges = {"memory": (128, self.max_memory, "MB"), "timeout": (100, self.max_timeout, "milliseconds"),
                  "logs": (0, LOGS_MAX_MB, "MB"), "concurrency": (1, 500, "")}
        for key, value in limits.items():
            if key not in ranges:
                continue
            low, high, unit = ranges[key]
            if not isinstance(value, int) or isinstance(value, bool):
                raise ApiError(400, f"The request content was malformed:\n'{key}' limit must be a whole number")
            shown = f"{value} {unit}".strip()
            if value < low:
                raise ApiError(400, f"{key} {shown} below allowed threshold of {low} {unit}.".replace("  ", " "))
            if value > high:
                raise ApiError(400, f"{key} {shown} exceeds allowed threshold of {high} {unit}.".replace("  ", " "))
            out[key] = value
        return out

    def check_exec(self, exec_):
        if not isinstance(exec_, dict):
            raise ApiError(400, "The request content was malformed:\n'exec' must be an object")
        kind = exec_.get("kind")
        if kind not in KINDS:
            raise ApiError(400, f"kind '{kind}' not in {sorted(KINDS)}")
        code = exec_.get("code")
        if not isinstance(code, str) or not code:
            raise ApiError(400, "The request content was malformed:\n'code' must be a non-empty string")
        if len(code) > self.max_code:
            raise ApiError(413, f"exec larger than allowed: {len(code)} > {self.max_code} bytes.")
        binary = exec_.get("binary")
        if binary is None:  # OpenWhisk infers it: base64 text is a binary (zip) action
            stripped = code.strip()
            binary = len(stripped) % 4 == 0 and bool(BASE64.match(stripped))
        if not isinstance(binary, bool):
            raise ApiError(400, "The request content was malformed:\n'binary' must be a boolean")
        main = exec_.get("main", "main")
        if not isinstance(main, str) or not main.isidentifier():
            raise ApiError(400, "The request content was malformed:\n'main' must be a function name")
        if binary:
            try:
                zipfile.ZipFile(io.BytesIO(base64.b64decode(code, validate=True))).testzip()
            except (binascii.Error, ValueError, zipfile.BadZipFile):
                raise ApiError(400, "The request content was malformed:\nbinary code is not a base64 zip file") \
                    from None
        return {"kind": kind, "code": code, "binary": binary, "main": main}

    def put(self, namespace, name, query, data):
        if not isinstance(data, dict):
            raise ApiError(400, "The request content was malformed:\nexpected an object")
        overwrite = query.get("overwrite", "false")
        if overwrite not in ("true", "false"):
            raise ApiError(400, "The request content was malformed:\n'overwrite' must be true or false")
        old = self.actions.get((namespace, name))
        if old is not None and overwrite != "true":
            raise ApiError(409, "resource already exists")
        if "exec" not in data and old is None:
            raise ApiError(400, "The request content was malformed:\n'exec' is required")
        exec_ = self.check_exec(data["exec"]) if "exec" in data else old["exec"]
        defaults = {"memory": 256, "timeout": 60000, "logs": 10, "concurrency": 1}
        limits = self.check_limits(data.get("limits", {}), old["limits"] if old else defaults)
        parameters = key_values(data["parameters"], "parameters") if "parameters" in data else \
            (old["parameters"] if old else [])
        annotations = key_values(data["annotations"], "annotations") if "annotations" in data else \
            [a for a in (old["annotations"] if old else []) if a["key"] != "exec"]
        patch = int(old["version"].split(".")[2]) + 1 if old else 1
        action = {"namespace": namespace, "name": name, "version": f"0.0.{patch}", "publish": False,
                  "exec": exec_, "limits": limits, "parameters": parameters,
                  "annotations": annotations + [{"key": "exec", "value": exec_["kind"].split(":")[0]}],
                  "updated": now_ms()}
        self.actions[(namespace, name)] = action
        self.retire((namespace, name))
        return 200, self.action_json(action, True)

    @staticmethod
    def action_json(action, code):
        out = json.loads(json.dumps(action))
        if not code:
            out["exec"].pop("code")
        return out

    def action(self, namespace, name):
        action = self.actions.get((namespace, name))
        if action is None:
            raise ApiError(404, NOT_FOUND)
        return action

    def list_actions(self, namespace, query):
        limit, skip = self.paging(query, 30)
        names = sorted(n for ns, n in self.actions if ns == namespace)[skip:skip + limit if limit else None]
        out = []
        for name in names:
            a = self.actions[(namespace, name)]
            out.append({"namespace": namespace, "name": name, "version": a["version"], "publish": False,
                        "annotations": a["annotations"], "limits": a["limits"], "updated": a["updated"],
                        "exec": {"binary": a["exec"]["binary"]}})
        return 200, out

    @staticmethod
    def paging(query, default):
        try:
            limit, skip = int(query.get("limit", default)), int(query.get("skip", 0))
        except ValueError:
            raise ApiError(400, "The request content was malformed:\n'limit' and 'skip' must be numbers") from None
        if not 0 <= limit <= 200 or skip < 0:
            raise ApiError(400, f"The value '{limit}' is not in the range of 0 to 200")
        return limit, skip

    def delete(self, namespace, name):
        action = self.action(namespace, name)
        del self.actions[(namespace, name)]
        self.retire((namespace, name))
        return 200, self.action_json(action, False)

    def retire(self, key):
        """Stops the idle containers of an action that changed or went; busy ones stop when done."""
        keep = []
        for container in self.containers.pop(key, []):
            if container.busy:
                keep.append(container)
            else:
                container.stop()
        if keep:
            self.containers[key] = keep

    # ---- activations ----

    def invoke(self, namespace, name, query, params, transaction):
        for flag in ("blocking", "result"):
            if query.get(flag, "false") not in ("true", "false"):
                raise ApiError(400, f"The request content was malformed:\n'{flag}' must be true or false")
        with self.lock:
            action = self.action(namespace, name)
            if self.in_flight.get(namespace, 0) >= self.concurrency:
                raise ApiError(429, f"Too many concurrent requests in flight (count: {self.in_flight[namespace]}, "
                                    f"allowed: {self.concurrency}).")
            self.in_flight[namespace] = self.in_flight.get(namespace, 0) + 1
        value = {p["key"]: p["value"] for p in action["parameters"]}
        value.update(params)
        activation_id = secrets.token_hex(16)
        done = threading.Event()
        thread = threading.Thread(target=self.run, args=(action, value, activation_id, transaction, now_ms(), done),
                                  daemon=True)
        thread.start()
        headers = {"x-openwhisk-activation-id": activation_id}
        if query.get("blocking") != "true" or not done.wait(self.controller_wait):
            return 202, {"activationId": activation_id}, headers
        with self.lock:
            record = self.activations[activation_id]
        status = {0: 200, 1: 502, 2: 502, 3: 500}[record["response"]["statusCode"]]
        body = record["response"]["result"] if query.get("result") == "true" else record
        return status, body, headers

    def container(self, action):
        """An idle warm container of this version, or a new (cold) one; (container, cold)."""
        key = (action["namespace"], action["name"])
        with self.lock:
            for container in self.containers.get(key, []):
                if not container.busy and container.version == action["version"] and container.alive():
                    container.busy = True
                    return container, False
            container = Container(action, self.api_host, self.workdir)
            self.containers.setdefault(key, []).append(container)
            return container, True

    def run(self, action, value, activation_id, transaction, invoked, done):
        start = now_ms()
        limits = action["limits"]
        timeout_s = limits["timeout"] / 1000
        deadline = time.monotonic() + timeout_s
        container, cold = self.container(action)
        init_ms, timed_out = None, False
        if cold:
            container.activations = 1  # the initialisation's log ends with a sentinel too
            ready = container.read_reply(deadline)
            init_ms = now_ms() - start
            if ready is None:
                answer, timed_out = None, True
            elif "ready" not in ready:
                answer = {"error": ready.get("init_error") or
                          "The action did not initialize and exited unexpectedly."}
                container.kill()
            else:
                answer = self.activate(container, action, value, activation_id, transaction, deadline)
                timed_out = answer is None
        else:
            answer = self.activate(container, action, value, activation_id, transaction, deadline)
            timed_out = answer is None
        if timed_out:
            container.kill()
            answer = {"error": f"The action exceeded its time limits of {limits['timeout']} milliseconds."}
            code = 2
        elif answer.get("memory_exceeded"):
            container.kill()
            answer, code = {"error": "The action exhausted its memory and was aborted."}, 2
        elif "result" in answer:
            answer = answer["result"]
            code = 1 if "error" in answer else 0
        elif "error" in answer:
            code = 2
        else:
            answer = {"error": "The action did not produce a valid response and exited unexpectedly."}
            code = 2
        logs = container.take_logs(0.5 if timed_out else 2.0)
        end = now_ms()
        annotations = [{"key": "path", "value": f"{action['namespace']}/{action['name']}"},
                       {"key": "waitTime", "value": start - invoked},
                       {"key": "kind", "value": action["exec"]["kind"]},
                       {"key": "timeout", "value": timed_out},
                       {"key": "limits", "value": dict(limits)}]
        if cold:
            annotations.append({"key": "initTime", "value": init_ms})
        record = {"namespace": action["namespace"], "name": action["name"], "version": action["version"],
                  "subject": action["namespace"], "activationId": activation_id, "start": start, "end": end,
                  "duration": end - start, "statusCode": code, "publish": False,
                  "response": {"status": STATUS[code], "statusCode": code, "success": code == 0, "result": answer},
                  "logs": logs, "annotations": annotations}
        with self.lock:
            self.activations[activation_id] = record
            self.in_flight[action["namespace"]] -= 1
            container.busy = False
            key = (action["namespace"], action["name"])
            current = self.actions.get(key)
            if not container.alive() or current is None or current["version"] != container.version:
                container.stop()
                if container in self.containers.get(key, []):
                    self.containers[key].remove(container)
        done.set()

    def activate(self, container, action, value, activation_id, transaction, deadline):
        """One activation in a live container: its answer, or None when the deadline passed."""
        container.activations += 1
        env = {"__OW_ACTION_NAME": f"/{action['namespace']}/{action['name']}",
               "__OW_ACTION_VERSION": action["version"], "__OW_ACTIVATION_ID": activation_id,
               "__OW_NAMESPACE": action["namespace"], "__OW_TRANSACTION_ID": transaction,
               "__OW_DEADLINE": str(int(time.time() * 1000 + (deadline - time.monotonic()) * 1000))}
        try:
            container.process.stdin.write((json.dumps({"value": value, "env": env}) + "\n").encode())
            container.process.stdin.flush()
        except BrokenPipeError:
            return {}
        return container.read_reply(deadline)

    def activation(self, namespace, activation_id):
        record = self.activations.get(activation_id)
        if record is None or record["namespace"] != namespace:
            raise ApiError(404, NOT_FOUND)
        return record

    def list_activations(self, namespace, query):
        limit, skip = self.paging(query, 30)
        records = sorted((r for r in self.activations.values() if r["namespace"] == namespace
                          and query.get("name") in (None, r["name"])), key=lambda r: -r["start"])
        records = records[skip:skip + limit if limit else None]
        if query.get("docs") != "true":
            records = [{k: r[k] for k in ("namespace", "name", "version", "activationId", "start", "end",
                                          "duration", "statusCode", "publish", "annotations")} for r in records]
        return 200, records

    def stop(self):
        with self.lock:
            for key in list(self.containers):
                for container in self.containers.pop(key):
                    container.stop()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    standin = None

    def log_message(self, format, *args):
        pass

    def send(self, status, body, headers=None, transaction=""):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-request-id", transaction)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        transaction = secrets.token_hex(16)
        if urllib.parse.urlsplit(self.path).path == "/identity/token":
            self.iam()
            return
        try:
            status, body, headers = self.route(transaction)
            self.send(status, body, headers, transaction)
        except ApiError as error:
            self.send(error.status, {"error": error.message, "code": transaction}, error.headers, transaction)

    def iam(self):
        """IBM Cloud IAM's token endpoint."""
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode(errors="replace") if length <= PAYLOAD_MAX else ""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if self.command != "POST":
                raise IamError(405, "BXNIM0400E", "The request method is not supported.",
                               f"HTTP {self.command} is not supported; use POST")
            status, body = 200, self.standin.iam_token(content_type, form)
        except IamError as error:
            status, body = error.status, error.body
        self.send(status, body, {"Cache-Control": "no-store"})

    def body(self, limit):
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            self.rfile.read(length)
            raise ApiError(413, f"Request larger than allowed: {length} > {limit} bytes.")
        data = self.rfile.read(length) if length else b""
        if not data.strip():
            return None
        kind = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()
        if kind != "application/json":
            raise ApiError(415, "The request's Content-Type is not supported. Expected:\napplication/json")
        try:
            return json.loads(data)
        except ValueError:
            raise ApiError(400, "The request content was malformed:\nthe body is not JSON") from None

    def route(self, transaction):
        s = self.standin
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
        if parts == ["_standin", "stats"]:
            self.body(PAYLOAD_MAX)
            self.allow(self.command, "GET")
            with s.lock:
                return 200, dict(s.stats), None
        if parts[:2] != ["api", "v1"] or len(parts) < 3 or parts[2] != "namespaces":
            self.body(PAYLOAD_MAX)
            raise ApiError(404, NOT_FOUND)
        rest, method = parts[3:], self.command
        data = self.body(s.max_code + PAYLOAD_MAX if method == "PUT" else PAYLOAD_MAX)
        with s.lock:
            namespace = s.namespace(self.headers.get("Authorization"), rest[0] if rest else None)
            if not rest:
                self.allow(method, "GET")
                return 200, [namespace], None
            if len(rest) >= 3 and rest[1] == "actions" and not NAME.match(rest[2]):
                raise ApiError(400, f"The name '{rest[2]}' is not a valid action name.")
            if rest[1:] == ["actions"]:
                self.allow(method, "GET")
                return (*s.list_actions(namespace, query), None)
            if len(rest) == 3 and rest[1] == "actions":
                name = rest[2]
                if method == "PUT":
                    return (*s.put(namespace, name, query, data), None)
                if method == "GET":
                    return 200, s.action_json(s.action(namespace, name), query.get("code") != "false"), None
                if method == "DELETE":
                    return (*s.delete(namespace, name), None)
                self.allow(method, "POST")
                if data is None:
                    data = {}
                if not isinstance(data, dict):
                    raise ApiError(400, "The request content was malformed:\nthe parameters must be an object")
            if rest[1:] == ["activations"]:
                self.allow(method, "GET")
                return (*s.list_activations(namespace, query), None)
            if len(rest) in (3, 4) and rest[1] == "activations":
                self.allow(method, "GET")
                record = s.activation(namespace, rest[2])
                part = rest[3] if len(rest) == 4 else None
                if part == "logs":
                    return 200, {"logs": record["logs"]}, None
                if part == "result":
                    return 200, record["response"], None
                if part is None:
                    return 200, record, None
            if not (len(rest) == 3 and rest[1] == "actions"):
                raise ApiError(404, NOT_FOUND)
        return s.invoke(namespace, rest[2], query, data, transaction)

    @staticmethod
    def allow(method, wanted):
        if method != wanted:
            raise ApiError(405, f"HTTP method not allowed, supported methods: {wanted}")

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--controller-wait", type=float, default=60.0)
    parser.add_argument("--max-memory", type=int, default=2048)
    parser.add_argument("--max-timeout", type=int, default=600000)
    parser.add_argument("--max-code-bytes", type=int, default=48 * 1024 * 1024)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--iam-token-seconds", type=int, default=3600)
    parser.add_argument("--watch-stdin", action="store_true")
    args = parser.parse_args()
    with open(args.config) as file:
        config = json.load(file)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    workdir = tempfile.mkdtemp(prefix="ow-standin-")
    standin = Handler.standin = Standin(config, args, f"http://127.0.0.1:{port}", workdir)
    standin_process.serve(server, workdir, args.watch_stdin, stop=standin.stop)


if __name__ == "__main__":
    main()
