"""A real container registry for the OpenFaaS tests, and images made here
to push into it.

`Registry(folder)` starts Debian's `docker-registry` (the CNCF distribution
registry) on loopback with Basic auth (an htpasswd file made with Apache's
`htpasswd -B`, the bcrypt form the registry requires) and storage in FOLDER;
`registry.stop()` ends it. `registry.push(layout_dir, "name:tag")` copies an
OCI layout directory into it with Debian's `skopeo`, and returns the
pushed manifest's digest.

`oci_layout(folder, layers, config)` writes an OCI image layout directory
(oci-layout, index.json, blobs/sha256/...) from LAYERS, each a dict
{path in the image: bytes}, written as the kernel writes its layers
(sorted entries, mtime 0, uid/gid 0, mode 0644 files and 0755 folders,
gzip with no name and mtime 0), and the image config's `config` part
(Entrypoint, Cmd, Env, WorkingDir, Labels). `function_image(...)` gives
the layers of a FaaSET function image as layout.md describes it: a tiny
base layer (an /etc/os-release, an empty /tmp) and the code layer under
/function (the handler shim with its FAASET_USER_FUNCTION line, the user's
module, SAAF, Inspector and faaset_http.py), with OpenFaaS's Entrypoint.
"""
import gzip
import hashlib
import io
import json
import pathlib
import secrets
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[2] / "runtime" / "python"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Registry:
    def __init__(self, folder, user="faaset", password=None):
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.user, self.password = user, password or secrets.token_urlsafe(24)
        hashed = subprocess.run(["htpasswd", "-Bbn", self.user, self.password], check=True, capture_output=True,
                                text=True).stdout.strip()
        (self.folder / "htpasswd").write_text(hashed + "\n")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        (self.folder / "config.yml").write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.folder / 'storage'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n"
            f"auth:\n  htpasswd:\n    realm: faaset-tests\n    path: {self.folder / 'htpasswd'}\n")
        self.log = open(self.folder / "registry.log", "w")
        self.process = subprocess.Popen(["docker-registry", "serve", str(self.folder / "config.yml")],
                                        stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=5)
            except urllib.error.HTTPError as error:
                if error.code == 401:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("docker-registry did not start: " + (self.folder / "registry.log").read_text())
            time.sleep(0.05)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def push(self, layout, reference):
        """Copies the OCI layout LAYOUT into the registry as REFERENCE ("name:tag"); the manifest's digest."""
        digest_file = pathlib.Path(layout).parent / (pathlib.Path(layout).name + ".digest")
        subprocess.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds",
                        f"{self.user}:{self.password}", "--digestfile", str(digest_file), f"oci:{layout}",
                        f"docker://{self.host}/{reference}"], check=True, capture_output=True, text=True,
                       timeout=120)
        return digest_file.read_text().strip()


def layer_bytes(files):
    """A deterministic tar.gz of FILES ({path: bytes}), with every parent folder as an entry."""
    entries = {}
    for path, data in files.items():
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            entries.setdefault("/".join(parts[:depth]) + "/", None)
        entries["/".join(parts) + ("/" if data is None else "")] = data
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(entries):
            data = entries[name]
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            else:
                info.mode, info.size = 0o644, len(data)
                archive.addfile(info, io.BytesIO(data))
    zipped = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=zipped, mode="wb", mtime=0) as stream:
        stream.write(raw.getvalue())
    return raw.getvalue(), zipped.getvalue()


def _blob(folder, data):
    digest = hashlib.sha256(data).hexdigest()
    (folder / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}"


def oci_layout(folder, layers, config):
    """Writes an OCI image layout of LAYERS (each {path: bytes, or None for a folder}) and CONFIG into FOLDER."""
    folder = pathlib.Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "blobs" / "sha256").mkdir(parents=True)
    (folder / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    descriptors, diff_ids = [], []
    for files in layers:
        raw, zipped = layer_bytes(files)
        descriptors.append({"mediaType": LAYER_TYPE, "digest": _blob(folder, zipped), "size": len(zipped)})
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    image_config = json.dumps({"architecture": "amd64", "os": "linux", "config": config,
                               "rootfs": {"type": "layers", "diff_ids": diff_ids}}, sort_keys=True).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                           "config": {"mediaType": CONFIG_TYPE, "digest": _blob(folder, image_config),
                                      "size": len(image_config)},
                           "layers": descriptors}, sort_keys=True).encode()
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": MANIFEST_TYPE, "digest": _blob(folder, manifest), "size": len(manifest)}]}))
    return folder


BASE_LAYER = {"etc/os-release": b'PRETTY_NAME="FaaSET test base"\nID=faaset\n', "tmp": None}


def function_image(function, source, name=None):
    """The layers and config of a FaaSET function image for OpenFaaS (layout.md) defining FUNCTION from SOURCE."""
    shim = (PYTHON_DIR / "faaset_handler.py").read_bytes()
    code = {"function/faaset_handler.py": f'FAASET_USER_FUNCTION = "{function}"\n'.encode() + shim,
            "function/faaset_function.py": source.encode(),
            "function/SAAF.py": (PYTHON_DIR / "SAAF.py").read_bytes(),
            "function/Inspector.py": (PYTHON_DIR / "Inspector.py").read_bytes(),
            "function/faaset_http.py": (PYTHON_DIR / "faaset_http.py").read_bytes()}
    config = {"Entrypoint": ["python3", "/function/faaset_http.py"], "Cmd": [],
              "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "PYTHONPATH=/function/deps:/function", "PORT=8080"],
              "WorkingDir": "/function",
              "Labels": {"org.opencontainers.image.title": name or function,
                         "dev.faaset.code": hashlib.sha256(source.encode()).hexdigest()}}
    return [BASE_LAYER, code], config


def push_function(registry, folder, function, source, reference):
    """Builds FUNCTION's image from SOURCE in FOLDER and pushes it as REFERENCE; the image's full name with digest."""
    layers, config = function_image(function, source)
    digest = registry.push(oci_layout(folder, layers, config), reference)
    return f"{registry.host}/{reference.split(':')[0]}@{digest}"

