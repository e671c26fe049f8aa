"""A real OCI registry for tests: Debian's `docker-registry` (the CNCF
distribution registry) on a loopback port, its storage in a temporary
folder, HTTP Basic auth from an htpasswd file (bcrypt, written by
apache2-utils' `htpasswd -B`), its access log kept so a test can count the
blob uploads a push made. Images are read back with `skopeo`, an
independent client.

With a `TokenServer` the registry asks for Bearer tokens instead (its
`auth: token` mode, as Docker Hub and most hosted registries do): the
token server checks Basic credentials or an identity token (OAuth refresh
grant), and signs a JWT (RS256, its certificate in the `x5c` header and in
the registry's root bundle) granting the scopes asked for.

`tiny_base_image` makes the base image tests build on (the machine has no
internet, so no public base can be pulled): one small layer holding
/etc/os-release and an empty /tmp, written as an OCI layout with Python's
tarfile and pushed with `skopeo copy`.
"""
import base64
import gzip
import hashlib
import http.server
import threading
import io
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request

USER = "faaset"
PASSWORD = "test-registry-password-1"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Registry:
    """One running docker-registry. `host` is "127.0.0.1:PORT". EXTRA_USERS
    are more (user, password) pairs it accepts (ECR's AWS user, say)."""

    def __init__(self, folder, auth=True, extra_users=(), token_server=None):
        for tool in ("docker-registry", "skopeo", "htpasswd"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is not installed: run scripts/setup-debian.sh --tests")
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.auth = auth
        config = [
            "version: 0.1",
            "log:",
            "  accesslog:",
            "    disabled: false",
            "  level: info",
            "  formatter: json",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.folder / 'storage'}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
        ]
        if token_server is not None:
            config += ["auth:", "  token:", f"    realm: {token_server.url}/token", f"    service: {TokenServer.SERVICE}",
                       f"    issuer: {TokenServer.ISSUER}", f"    rootcertbundle: {token_server.certificate_path}"]
        elif auth:
            lines = [subprocess.run(["htpasswd", "-nbB", user, password], check=True, capture_output=True,
                                    text=True).stdout.strip() for user, password in ((USER, PASSWORD), *extra_users)]
            (self.folder / "htpasswd").write_text("\n".join(lines) + "\n")
            config += ["auth:", "  htpasswd:", "    realm: faaset-test", f"    path: {self.folder / 'htpasswd'}"]
        (self.folder / "config.yml").write_text("\n".join(config) + "\n")
        self.log_path = self.folder / "registry.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(["docker-registry", "serve", str(self.folder / "config.yml")],
                                        stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2)
                break
            except urllib.error.HTTPError:
                break  # 401: up, asking for credentials
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("docker-registry did not start: " + self.log_path.read_text()[-2000:])
                time.sleep(0.05)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def credentials_args(self):
        return ["--tls-verify=false"] + ([f"--creds={USER}:{PASSWORD}"] if self.auth else [])

    def skopeo(self, *args, raw_output=False):
        done = subprocess.run(["skopeo", *args], capture_output=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError(f"skopeo {' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
        return done.stdout if raw_output else done.stdout.decode()

    def inspect_raw(self, reference):
        """The manifest as stored: (bytes, parsed)."""
        raw = self.skopeo("inspect", "--raw", *self.credentials_args(), f"docker://{self.host}/{reference}",
                          raw_output=True)
        return raw, json.loads(raw)

    def inspect_config(self, reference):
        return json.loads(self.skopeo("inspect", "--config", *self.credentials_args(),
                                      f"docker://{self.host}/{reference}"))

    def copy_to_layout(self, reference, folder):
        """The image copied into an OCI layout folder, as skopeo pulls it."""
        self.skopeo("copy", "--src-tls-verify=false",
                    *([f"--src-creds={USER}:{PASSWORD}"] if self.auth else []),
                    f"docker://{self.host}/{reference}", f"oci:{folder}:image")
        return pathlib.Path(folder)

    def push_layout(self, folder, reference):
        self.skopeo("copy", "--dest-tls-verify=false",
                    *([f"--dest-creds={USER}:{PASSWORD}"] if self.auth else []),
                    f"oci:{folder}:image", f"docker://{self.host}/{reference}")

    def log_mark(self):
        return self.log_path.stat().st_size

    def requests_since(self, mark):
        """The access log's requests after MARK as (method, path) pairs."""
        with open(self.log_path, "rb") as log:
            log.seek(mark)
            text = log.read().decode(errors="replace")
        requests = []
        for line in text.splitlines():
            match = re.search(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) ([^ ]+) HTTP/1\.[01]"', line)
            if match:
                requests.append((match.group(1), match.group(2)))
        return requests

    def blob_uploads_since(self, mark):
        """Blob uploads finished after MARK (PUT .../blobs/uploads/...?digest=), mounts not counted."""
        return [path for method, path in self.requests_since(mark)
                if method == "PUT" and "/blobs/uploads/" in path]


class TokenServer:
    """A registry token service on loopback (the Docker token protocol):
    GET /token?service=&scope=... with Basic USER:PASSWORD, or POST /token
    with grant_type=refresh_token and IDENTITY_TOKEN, answers {"token",
    "access_token"}; anything else 401. `requests` lists what it was asked
    (method, whether credentials came, the scopes)."""

    SERVICE = "faaset-test-registry"
    ISSUER = "faaset-test-issuer"
    IDENTITY_TOKEN = "test-identity-token-7"

    def __init__(self, folder):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
        import datetime
        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "faaset test token signer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(days=1))
                       .not_valid_after(now + datetime.timedelta(days=30))
                       .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                       .sign(self.key, hashes.SHA256()))
        self.certificate_der = certificate.public_bytes(serialization.Encoding.DER)
        self.certificate_path = folder / "token-signer.pem"
        self.certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        self.requests = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, query, authorized):
                scopes = urllib.parse.parse_qs(query).get("scope", [])
                scopes = [part for scope in scopes for part in scope.split(" ")]
                server.requests.append((self.command, authorized, scopes))
                if not authorized:
                    self.send_response(401)
                    self.end_headers()
                    return
                token = server.sign(scopes)
                body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                self.answer(urllib.parse.urlsplit(self.path).query, self.headers.get("Authorization") == expected)

            def do_POST(self):
                form = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                fields = urllib.parse.parse_qs(form)
                self.answer(form, fields.get("grant_type") == ["refresh_token"]
                            and fields.get("refresh_token") == [TokenServer.IDENTITY_TOKEN])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def sign(self, scopes):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        def encode(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.certificate_der).decode()]}
        claims = {"iss": self.ISSUER, "sub": USER, "aud": self.SERVICE, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": hashlib.sha256(os.urandom(16)).hexdigest(), "access": access}
        signing_input = encode(json.dumps(header).encode()) + "." + encode(json.dumps(claims).encode())
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + encode(signature)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _tar_bytes(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _blob(folder, data):
    digest = hashlib.sha256(data).hexdigest()
    (folder / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def tiny_base_image(folder, env=("PATH=/usr/local/bin:/usr/bin:/bin",), architecture="amd64"):
    """Writes an OCI layout folder holding a one-layer linux image and returns it."""
    folder = pathlib.Path(folder)
    (folder / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    diff = _tar_bytes([("etc/os-release", b'NAME="faaset test base"\nID=faaset-test\n'), ("tmp", None)])
    layer = _blob(folder, gzip.compress(diff, mtime=0))
    config = {"architecture": architecture, "os": "linux",
              "config": {"Env": list(env), "Cmd": ["/bin/sh"], "WorkingDir": "/"},
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(diff).hexdigest()]},
              "history": [{"created_by": "tests/support/oci_registry.py"}]}
    config_blob = _blob(folder, json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": dict(config_blob, mediaType="application/vnd.oci.image.config.v1+json"),
                "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar+gzip")]}
    manifest_blob = _blob(folder, json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "manifests": [dict(manifest_blob, mediaType=manifest["mediaType"],
                                                     annotations={"org.opencontainers.image.ref.name": "image"})]}
    (folder / "index.json").write_text(json.dumps(index))
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return folder


def add_large_layer(folder, size):
    """Adds a layer of SIZE incompressible bytes (one file, gzip level 1) under the single image of the OCI
    layout FOLDER (from tiny_base_image), its manifest and config updated; returns the layer's blob size."""
    folder = pathlib.Path(folder)
    index = json.loads((folder / "index.json").read_text())
    manifest = json.loads((folder / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]).read_bytes())
    config = json.loads((folder / "blobs" / "sha256" / manifest["config"]["digest"].split(":")[1]).read_bytes())
    diff = _tar_bytes([("opt/large.bin", os.urandom(size))])
    layer = _blob(folder, gzip.compress(diff, compresslevel=1, mtime=0))
    config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(diff).hexdigest())
    manifest["config"] = dict(_blob(folder, json.dumps(config).encode()), mediaType=manifest["config"]["mediaType"])
    manifest["layers"].append(dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar+gzip"))
    manifest_blob = _blob(folder, json.dumps(manifest).encode())
    index["manifests"][0].update(manifest_blob)
    (folder / "index.json").write_text(json.dumps(index))
    return layer["size"]


def layer_files(layout, manifest):
    """{path: bytes or None for a folder} of every layer of MANIFEST in the
    OCI layout folder LAYOUT, untarred with Python's tarfile, later layers
    over earlier ones."""
    files = {}
    for layer in manifest["layers"]:
        path = pathlib.Path(layout) / "blobs" / "sha256" / layer["digest"].split(":", 1)[1]
        with tarfile.open(path, mode="r:gz") as tar:
            for member in tar.getmembers():
                files[member.name] = tar.extractfile(member).read() if member.isfile() else None
    return files


def layout_manifest(layout):
    """The manifest of the single image in an OCI layout folder."""
    layout = pathlib.Path(layout)
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":", 1)[1]
    return json.loads((layout / "blobs" / "sha256" / digest).read_bytes())


def docker_config(folder, host, user=USER, password=PASSWORD):
    """A DOCKER_CONFIG folder whose config.json has a Basic `auth` for HOST."""
    import base64
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {host: {"auth": token}}}))
    os.chmod(folder / "config.json", 0o600)
    return folder
