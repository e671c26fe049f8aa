"""A stand-in for the OpenFaaS gateway (with faas-netes behind it), as
strict as the gateway, on loopback over plain HTTP. Built from
/work/shared/platform-api.md's facts and the gateway's public API
reference (its swagger: /system/functions, /system/function/{name},
/function/{name}, /async-function/{name}).

    python3 of_standin.py --config FILE [--port 0] [--ready-delay 0.3]
                          [--scale-wait 30] [--watch-stdin]

prints its port on the first line of stdout and serves until killed (with
--watch-stdin also until stdin closes, so it never outlives its test).
FILE is JSON written by the test:

    {"user": "admin", "password": "...",
     "registries": {"127.0.0.1:5000": "user:password"}}

What it checks and does, as the gateway does:

- /system/* needs HTTP Basic auth with the user and password (401 and a
  `WWW-Authenticate: Basic realm=...` without them or with others);
  /function/*, /async-function/* and /healthz do not.
- Errors are plain text, as the gateway's and faas-netes' http.Error
  writes them.
- POST /system/functions deploys (202): a JSON FunctionDeployment that
  needs `service` (a DNS-1123 label: lower case letters, digits and '-',
  at most 63) and `image`; optional envProcess, envVars, labels,
  annotations (string maps), limits / requests {memory, cpu} (Kubernetes
  quantities such as "128Mi" or "0.5"), secrets, constraints,
  readOnlyRootFilesystem, namespace (only "openfaas-fn"), registryAuth
  (base64 of user:password). A name that exists is faas-netes' 500
  "unable create Deployment: ... already exists". PUT /system/functions
  replaces an existing function's deployment (200; 404 for an unknown
  one); DELETE /system/functions with {"functionName"} (200, 404, 400
  without it). GET /system/functions lists FunctionStatus records, GET
  /system/function/{name} gives one (404 unknown): what the deploy sent,
  plus invocationCount, replicas 1, availableReplicas and createdAt.
- A deploy (or update) starts a replica in the background, as Kubernetes
  does after answering: the image is pulled from its registry over the
  OCI distribution API (the manifest, OCI or Docker v2, its config and
  layers; with the registry's Basic auth or its bearer token, using the
  deploy's registryAuth or else the configured credentials for that
  registry; plain HTTP, as the registries are on loopback), the layers
  are unpacked in order into a folder (whiteouts honoured), and the image
  config's Entrypoint + Cmd run as a process with Env (the deploy's
  envVars over it) and WorkingDir, paths inside the image mapped into the
  folder: no chroot, so `python3` is the interpreter running this
  stand-in, and absolute arguments, PYTHONPATH entries and the working
  folder point into the unpacked image. PORT is a free port of this
  machine instead of the image's (each real replica has its own network);
  TMPDIR is the image's /tmp (each real replica has its own).
  availableReplicas becomes 1 once the process accepts connections on it
  and at least --ready-delay seconds have passed since the deploy; until
  then (and for ever when the pull or the start failed) it is 0. An
  update replaces the replica (availableReplicas 0 until the new one is
  up); a delete stops it.
- /function/{name}[/path] (any method) is proxied to the replica, status,
  body and Content-Type passed through, with X-Call-Id (the caller's or
  a new one; on the gateway's own refusals too), X-Start-Time and
  X-Duration-Seconds added to the answer; an
  unknown function is 404 "Cannot find service: NAME."; a function not
  ready yet is waited for (as the gateway scales from zero) up to
  --scale-wait seconds, then 503.
- /async-function/{name} answers 202 with an X-Call-Id at once and makes
  the call in the background (as the queue worker does); with
  X-Callback-Url the function's answer is POSTed there with X-Call-Id,
  X-Function-Name, X-Function-Status and X-Duration-Seconds.

GET /_standin/stats (no auth) gives counters for the tests: requests by
"METHOD route", unauthorized, pulls (manifests fetched), blobs fetched,
replicas started, invocations, async invocations, callbacks made, and
credentials_to_functions: calls to /function or /async-function that
carried an Authorization header (which the gateway does not ask for), and
throttled: the 429s it answered. POST /_standin/throttle?route=R&count=N
makes the next N requests to R ("system" or "function": /function and
/async-function) answer 429 with Retry-After: 0, as a gateway or a
watchdog over its max_inflight does ("Concurrent request limit exceeded").
"""
import argparse
import base64
import binascii
import gzip
import hashlib
import hmac
import http.client
import http.server
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "support"))
import standin_process  # noqa: E402  (tests/support: the port line, --watch-stdin, the clean-up)

NAMESPACE = "openfaas-fn"
SERVICE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")
REALM = "Restricted"
BODY_MAX = 32 * 1024 * 1024


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- pulling an image ----

class PullError(Exception):
    pass


class RegistryClient:
    """Reads one image over the OCI distribution API, answering the registry's Basic or Bearer challenge."""

    def __init__(self, host, repository, credentials, stats):
        self.host, self.repository, self.credentials, self.stats = host, repository, credentials, stats
        self.authorization = None

    def get(self, path, accept=None):
        for _ in range(2):
            connection = http.client.HTTPConnection(self.host, timeout=60)
            headers = {"Accept": accept} if accept else {}
            if self.authorization:
                headers["Authorization"] = self.authorization
            try:
                connection.request("GET", path, headers=headers)
                answer = connection.getresponse()
                body = answer.read()
            except OSError as error:
                raise PullError(f"cannot reach the registry {self.host}: {error}") from None
            finally:
                connection.close()
            if answer.status == 401 and self.authorization is None:
                self.authorize(answer.getheader("WWW-Authenticate") or "")
                continue
            if answer.status != 200:
                raise PullError(f"the registry {self.host} answered HTTP {answer.status} to GET {path}")
            return answer, body
        raise PullError(f"the registry {self.host} refused the credentials for {self.repository}")

    def authorize(self, challenge):
        if not self.credentials:
            raise PullError(f"the registry {self.host} needs credentials and none were given")
        basic = "Basic " + base64.b64encode(self.credentials.encode()).decode()
        scheme, _, rest = challenge.partition(" ")
        if scheme.lower() == "basic":
            self.authorization = basic
            return
        if scheme.lower() != "bearer":
            raise PullError(f"the registry {self.host} asks for {scheme or 'an unknown'} authentication")
        fields = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        realm = urllib.parse.urlsplit(fields.get("realm", ""))
        query = urllib.parse.urlencode({k: v for k, v in fields.items() if k in ("service", "scope")})
        connection = (http.client.HTTPSConnection if realm.scheme == "https" else http.client.HTTPConnection)(
            realm.netloc, timeout=60)
        try:
            connection.request("GET", f"{realm.path}?{query}", headers={"Authorization": basic})
            answer = connection.getresponse()
            token = json.loads(answer.read() or b"{}")
        except (OSError, ValueError) as error:
            raise PullError(f"cannot get a token from {realm.netloc}: {error}") from None
        finally:
            connection.close()
        token = token.get("token") or token.get("access_token")
        if answer.status != 200 or not token:
            raise PullError(f"the registry's token service {realm.netloc} refused the credentials")
        self.authorization = f"Bearer {token}"


def parse_reference(image):
    """(registry host, repository, tag or digest) of IMAGE; registries must be named (no Docker Hub here)."""
    name, _, digest = image.partition("@")
    host, slash, rest = name.partition("/")
    if not slash or not ("." in host or ":" in host or host == "localhost"):
        raise PullError(f"{image}: only images in a named registry (host[:port]/name) can be pulled here")
    if ":" in rest.rsplit("/", 1)[-1]:
        rest, _, tag = rest.rpartition(":")
    else:
        tag = "latest"
    return host, rest, digest or tag


def unpack_layer(data, rootfs):
    """Applies one layer (tar, gzipped or not) onto ROOTFS, whiteouts included; nothing may escape it."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            path = os.path.normpath(member.name.lstrip("/"))
            if path.startswith("..") or os.path.isabs(path):
                raise PullError(f"a layer holds a path outside the image: {member.name}")
            base = os.path.basename(path)
            target = os.path.join(rootfs, path)
            if base == ".wh..wh..opq":
                folder = os.path.dirname(target)
                for entry in os.listdir(folder) if os.path.isdir(folder) else []:
                    shutil.rmtree(os.path.join(folder, entry), ignore_errors=True)
                continue
            if base.startswith(".wh."):
                gone = os.path.join(os.path.dirname(target), base[4:])
                if os.path.isdir(gone) and not os.path.islink(gone):
                    shutil.rmtree(gone)
                elif os.path.lexists(gone):
                    os.unlink(gone)
                continue
            if member.isdir():
                os.makedirs(target, exist_ok=True)
            elif member.isfile():
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.lexists(target):
                    os.unlink(target)
                with archive.extractfile(member) as source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
                os.chmod(target, member.mode & 0o777)
            elif member.issym():
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.lexists(target):
                    os.unlink(target)
                os.symlink(member.linkname, target)


def pull(image, credentials, rootfs, stats):
    """Pulls IMAGE into ROOTFS; returns (the image config's `config`, the manifest's digest)."""
    host, repository, reference = parse_reference(image)
    client = RegistryClient(host, repository, credentials, stats)
    answer, body = client.get(f"/v2/{repository}/manifests/{reference}", ", ".join(MANIFEST_TYPES))
    stats["pulls"] += 1
    manifest = json.loads(body)
    if manifest.get("mediaType", answer.getheader("Content-Type")) not in MANIFEST_TYPES:
        raise PullError(f"{image} is not a single-platform image manifest")
    digest = answer.getheader("Docker-Content-Digest") or ""

    def blob(descriptor):
        _, data = client.get(f"/v2/{repository}/blobs/{descriptor['digest']}")
        stats["blobs"] += 1
        if "sha256:" + hashlib.sha256(data).hexdigest() != descriptor["digest"]:
            raise PullError(f"blob {descriptor['digest']} of {image} does not match its digest")
        return data

    config = json.loads(blob(manifest["config"]))
    for layer in manifest["layers"]:
        unpack_layer(blob(layer), rootfs)
    return config.get("config") or {}, digest


# ---- replicas ----

class Replica:
    """One running copy of a function: its image unpacked and its entry point running."""

    def __init__(self, function, standin):
        self.function, self.standin = function, standin
        self.folder = tempfile.mkdtemp(prefix=f"replica-{function['name']}-", dir=standin.workdir)
        self.rootfs = os.path.join(self.folder, "rootfs")
        self.port, self.process, self.ready, self.stopped = None, None, False, False
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self.start, daemon=True)
        self.thread.start()

    def inside(self, path):
        return os.path.join(self.rootfs, path.lstrip("/"))

    def start(self):
        function, standin = self.function, self.standin
        try:
            registry_auth = function.get("registryAuth")
            credentials = base64.b64decode(registry_auth).decode() if registry_auth else None
            host = parse_reference(function["image"])[0]
            config, _ = pull(function["image"], credentials or standin.registries.get(host), self.rootfs,
                             standin.stats)
        except (PullError, ValueError, KeyError, OSError, tarfile.TarError) as error:
            self.log(f"pull failed: {error}")
            return
        argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
        if not argv:
            self.log("the image has no Entrypoint or Cmd")
            return
        argv = [sys.executable if i == 0 and os.path.basename(a) in ("python3", "python") else
                (self.inside(a) if a.startswith("/") else a) for i, a in enumerate(argv)]
        env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
        env.update(function.get("envVars") or {})
        if function.get("envProcess"):
            env["fprocess"] = function["envProcess"]
        if "PYTHONPATH" in env:
            env["PYTHONPATH"] = ":".join(self.inside(p) if p.startswith("/") else p
                                         for p in env["PYTHONPATH"].split(":"))
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
        env["HOME"] = env["TMPDIR"] = self.inside("/tmp")  # the replica's own /tmp (SAAF's container id: cold or warm)
        os.makedirs(env["TMPDIR"], exist_ok=True)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.port = free_port()
        env["PORT"] = str(self.port)
        cwd = self.inside(config.get("WorkingDir") or "/")
        with self.standin.lock:
            if self.stopped:
                return
            log = open(os.path.join(self.folder, "log"), "ab")
            self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            standin.stats["replicas"] += 1
        while not self.stopped and self.process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        left = standin.ready_delay - (time.monotonic() - self.started)
        if left > 0:
            time.sleep(left)
        with self.standin.lock:
            self.ready = not self.stopped and self.process.poll() is None

    def log(self, text):
        with open(os.path.join(self.folder, "log"), "a") as out:
            out.write(text + "\n")

    def stop(self):
        with self.standin.lock:
            self.stopped, self.ready = True, False
            process = self.process
        if process is not None:
            if process.poll() is None:
                process.kill()
            process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


# ---- the gateway ----

def string_map(value, field):
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ApiError(400, f"{field} must be a map of strings")
    return dict(value)


def resources(value, field):
    if value is None:
        return None
    if not isinstance(value, dict) or any(k not in ("memory", "cpu") for k in value):
        raise ApiError(400, f"{field} takes memory and cpu")
    for key, quantity in value.items():
        if not isinstance(quantity, str) or not QUANTITY.match(quantity):
            raise ApiError(400, f"failed create Deployment spec: invalid {field}.{key} quantity {quantity!r}")
    return dict(value)


class Standin:
    def __init__(self, config, args, workdir):
        self.user, self.password = config["user"], config["password"]
        self.registries = dict(config.get("registries", {}))
        self.ready_delay, self.scale_wait = args.ready_delay, args.scale_wait
        self.workdir = workdir
        self.lock = threading.RLock()
        self.functions = {}   # name -> FunctionDeployment kept, plus counters
        self.replicas = {}    # name -> Replica
        self.stats = {"requests": {}, "unauthorized": 0, "pulls": 0, "blobs": 0, "replicas": 0, "invocations": 0,
                      "async_invocations": 0, "callbacks": 0, "credentials_to_functions": 0,
                      "throttled": 0}
        self.throttle = {"system": 0, "function": 0}  # how many requests of each route to answer 429 next

    def authorize(self, header):
        scheme, _, encoded = (header or "").partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True).decode() if scheme.lower() == "basic" else ""
        except (binascii.Error, UnicodeDecodeError):
            given = ""
        user, _, password = given.partition(":")
        if not (hmac.compare_digest(user.encode(), self.user.encode()) and
                hmac.compare_digest(password.encode(), self.password.encode())):
            self.stats["unauthorized"] += 1
            raise ApiError(401, "Unauthorized", {"WWW-Authenticate": f'Basic realm="{REALM}"'})

    @staticmethod
    def deployment(data):
        if not isinstance(data, dict):
            raise ApiError(400, "the request body must be a JSON FunctionDeployment")
        service, image = data.get("service"), data.get("image")
        if not isinstance(service, str) or not service:
            raise ApiError(400, "service is required")
        if not SERVICE_NAME.match(service):
            raise ApiError(400, f"({service}) must be a valid DNS entry for service name")
        if not isinstance(image, str) or not image:
            raise ApiError(400, "image is required")
        namespace = data.get("namespace") or NAMESPACE
        if namespace != NAMESPACE:
            raise ApiError(400, f"namespace {namespace} is not allowed")
        secrets_ = data.get("secrets") or []
        if not isinstance(secrets_, list) or secrets_:
            raise ApiError(400, f"secrets {secrets_} not found in {NAMESPACE}")
        for field in ("envProcess", "registryAuth"):
            if data.get(field) is not None and not isinstance(data[field], str):
                raise ApiError(400, f"{field} must be a string")
        return {"name": service, "image": image, "namespace": namespace, "envProcess": data.get("envProcess") or "",
                "envVars": string_map(data.get("envVars"), "envVars"),
                "labels": string_map(data.get("labels"), "labels"),
                "annotations": string_map(data.get("annotations"), "annotations"),
                "limits": resources(data.get("limits"), "limits"),
                "requests": resources(data.get("requests"), "requests"),
                "constraints": list(data.get("constraints") or []),
                "readOnlyRootFilesystem": bool(data.get("readOnlyRootFilesystem")),
                "registryAuth": data.get("registryAuth")}

    def deploy(self, data, update):
        function = self.deployment(data)
        name = function["name"]
        old = self.functions.get(name)
        if update and old is None:
            raise ApiError(404, f"deployment not found: {name}")
        if not update and old is not None:
            raise ApiError(500, f'unable create Deployment: deployments.apps "{name}" already exists')
        function["createdAt"] = old["createdAt"] if old else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        function["invocationCount"] = old["invocationCount"] if old else 0
        self.functions[name] = function
        self.replace(name, Replica(function, self))
        return 200 if update else 202

    def replace(self, name, replica):
        old = self.replicas.pop(name, None)
        if replica is not None:
            self.replicas[name] = replica
        if old is not None:
            threading.Thread(target=old.stop, daemon=True).start()

    def delete(self, data):
        name = data.get("functionName") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name:
            raise ApiError(400, "No function provided")
        if name not in self.functions:
            raise ApiError(404, f"function {name} not found")
        del self.functions[name]
        self.replace(name, None)

    def status(self, name):
        function = self.functions.get(name)
        if function is None:
            raise ApiError(404, f"function {name} not found")
        out = {k: v for k, v in function.items() if k != "registryAuth"}
        for key in ("limits", "requests"):
            if out[key] is None:
                del out[key]
        replica = self.replicas.get(name)
        out["replicas"] = 1
        out["availableReplicas"] = 1 if replica is not None and replica.ready else 0
        return out

    def replica_for(self, name):
        """The function's ready replica, waited for up to --scale-wait seconds; ApiError when none."""
        deadline = time.monotonic() + self.scale_wait
        while True:
            with self.lock:
                if name not in self.functions:
                    raise ApiError(404, f"Cannot find service: {name}.")
                replica = self.replicas.get(name)
                if replica is not None and replica.ready:
                    self.functions[name]["invocationCount"] += 1
                    return replica
            if time.monotonic() > deadline:
                raise ApiError(503, f"No endpoints available for: {name}.")
            time.sleep(0.05)

    def call(self, name, method, path, body, headers):
        """Proxies one call: (status, body, content type)."""
        replica = self.replica_for(name)
        self.stats["invocations"] += 1
        connection = http.client.HTTPConnection("127.0.0.1", replica.port, timeout=600)
        sent = {k: v for k, v in headers.items() if k.lower() in ("content-type", "x-call-id", "accept")}
        try:
            connection.request(method, path or "/", body=body, headers=sent)
            answer = connection.getresponse()
            return answer.status, answer.read(), answer.getheader("Content-Type") or "text/plain"
        except OSError as error:
            raise ApiError(502, f"Can't reach service for: {name}. ({error})") from None
        finally:
            connection.close()

    def call_async(self, name, path, body, headers, call_id):
        started = time.monotonic()
        try:
            status, answer, kind = self.call(name, "POST", path, body, headers)
        except ApiError as error:
            status, answer, kind = error.status, error.message.encode(), "text/plain"
        callback = headers.get("X-Callback-Url")
        if not callback:
            return
        url = urllib.parse.urlsplit(callback)
        connection = http.client.HTTPConnection(url.netloc, timeout=60)
        try:
            connection.request("POST", url.path + (f"?{url.query}" if url.query else ""), body=answer, headers={
                "Content-Type": kind, "X-Call-Id": call_id, "X-Function-Name": name,
                "X-Function-Status": str(status), "X-Duration-Seconds": f"{time.monotonic() - started:.6f}"})
            connection.getresponse().read()
            self.stats["callbacks"] += 1
        except OSError:
            pass
        finally:
            connection.close()

    def stop(self):
        with self.lock:
            replicas, self.replicas = list(self.replicas.values()), {}
        for replica in replicas:
            replica.stop()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    standin = None

    def log_message(self, format, *args):
        pass

    def send(self, status, body, kind="text/plain; charset=utf-8", headers=None):
        data = body if isinstance(body, bytes) else (json.dumps(body) if kind == "application/json"
                                                     else body + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > BODY_MAX:
            self.rfile.read(length)
            raise ApiError(413, "request body too large")
        return self.rfile.read(length) if length else b""

    def handle_any(self):
        s = self.standin
        path = urllib.parse.urlsplit(self.path).path
        parts = path.strip("/").split("/")
        route = "/".join(parts[:2]) if parts[0] == "system" else parts[0]
        with s.lock:
            key = f"{self.command} /{route}"
            s.stats["requests"][key] = s.stats["requests"].get(key, 0) + 1
        try:
            body = self.read_body()
            self.route(parts, body)
        except ApiError as error:
            self.send(error.status, error.message, headers=error.headers)

    def json_body(self, body):
        try:
            return json.loads(body) if body.strip() else None
        except ValueError:
            raise ApiError(400, "the request body is not JSON") from None

    def route(self, parts, body):
        s = self.standin
        method = self.command
        if parts == ["healthz"] and method == "GET":
            return self.send(200, "OK")
        if parts == ["_standin", "stats"] and method == "GET":
            with s.lock:
                return self.send(200, json.loads(json.dumps(s.stats)), "application/json")
        if parts == ["_standin", "throttle"] and method == "POST":
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            with s.lock:
                s.throttle[query["route"]] = int(query["count"])
            return self.send(200, "")
        route = "system" if parts[0] == "system" else "function" if parts[0] in ("function", "async-function") else None
        with s.lock:
            throttled = route is not None and s.throttle[route] > 0
            if throttled:
                s.throttle[route] -= 1
                s.stats["throttled"] += 1
        if throttled:
            raise ApiError(429, "Concurrent request limit exceeded. Max concurrent requests: 1",
                           {"Retry-After": "0"})
        if parts[0] == "system":
            s.authorize(self.headers.get("Authorization"))
            with s.lock:
                if parts == ["system", "info"] and method == "GET":
                    return self.send(200, {"provider": {"provider": "faas-netes (FaaSET stand-in)",
                                                        "orchestration": "kubernetes"},
                                           "version": {"release": "0.0.0-standin"}, "arch": "x86_64"},
                                     "application/json")
                if parts == ["system", "functions"]:
                    if method == "GET":
                        return self.send(200, [s.status(n) for n in sorted(s.functions)], "application/json")
                    if method in ("POST", "PUT"):
                        return self.send(s.deploy(self.json_body(body), method == "PUT"), "")
                    if method == "DELETE":
                        s.delete(self.json_body(body))
                        return self.send(200, "")
                    raise ApiError(405, "Method not allowed")
                if len(parts) == 3 and parts[1] == "function" and method == "GET":
                    return self.send(200, s.status(parts[2]), "application/json")
            raise ApiError(404, "404 page not found")
        if parts[0] in ("function", "async-function") and len(parts) >= 2 and parts[1]:
            name, rest = parts[1], "/" + "/".join(parts[2:])
            call_id = self.headers.get("X-Call-Id") or secrets.token_hex(16)
            try:
                return self.invoke(parts[0], name, rest, body, call_id)
            except ApiError as error:  # the gateway's own refusals carry the call's id too
                error.headers["X-Call-Id"] = call_id
                raise
        raise ApiError(404, "404 page not found")

    def invoke(self, kind, name, rest, body, call_id):
        """/function/NAME/REST proxied, or /async-function/NAME/REST queued."""
        s, method = self.standin, self.command
        if self.headers.get("Authorization"):
            with s.lock:
                s.stats["credentials_to_functions"] += 1
        headers = {k: v for k, v in self.headers.items()}
        headers["X-Call-Id"] = call_id
        if kind == "async-function":
            if method != "POST":
                raise ApiError(405, "Method not allowed")
            with s.lock:
                s.stats["async_invocations"] += 1
            threading.Thread(target=s.call_async, args=(name, rest, body, headers, call_id),
                             daemon=True).start()
            return self.send(202, "", headers={"X-Call-Id": call_id})
        started, start_time = time.monotonic(), str(time.time_ns())
        status, answer, content_type = s.call(name, method, rest, body, headers)
        return self.send(status, answer, content_type, {"X-Call-Id": call_id, "X-Start-Time": start_time,
                                                        "X-Duration-Seconds": f"{time.monotonic() - started:.6f}"})

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-delay", type=float, default=0.3)
    parser.add_argument("--scale-wait", type=float, default=30.0)
    parser.add_argument("--watch-stdin", action="store_true")
    args = parser.parse_args()
    with open(args.config) as file:
        config = json.load(file)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    workdir = tempfile.mkdtemp(prefix="of-standin-")
    standin = Handler.standin = Standin(config, args, workdir)
    standin_process.serve(server, workdir, args.watch_stdin, stop=standin.stop)


if __name__ == "__main__":
    main()
