"""Images made here, to push into the test registry (Debian's
docker-registry with Basic auth: tests/support/oci_registry.Registry).

`oci_layout(folder, layers, config)` writes an OCI image layout directory
(oci-layout, index.json naming the image "image", blobs/sha256/...) from
LAYERS, each a dict {path in the image: bytes, or None for a folder},
written as the kernel writes its layers (sorted entries, mtime 0, uid/gid
0, mode 0644 files and 0755 folders, gzip with no name and mtime 0), and
the image config's `config` part (Entrypoint, Cmd, Env, WorkingDir,
Labels). `function_image(...)` gives the layers of a FaaSET function image
as layout.md describes it: a tiny base layer (an /etc/os-release, an empty
/tmp) and the code layer under /function (the handler shim with its
FAASET_USER_FUNCTION line, the user's module, SAAF, Inspector and
faaset_http.py), with OpenFaaS's Entrypoint. `push_function(...)` builds
one and pushes it with skopeo.
"""
import gzip
import hashlib
import io
import json
import pathlib
import shutil
import sys
import tarfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from oci_registry import PASSWORD, USER, Registry, TokenServer  # noqa: E402,F401

PYTHON_DIR = ROOT / "runtime" / "python"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


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
        {"mediaType": MANIFEST_TYPE, "digest": _blob(folder, manifest), "size": len(manifest),
         "annotations": {"org.opencontainers.image.ref.name": "image"}}]}))
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
              "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "PYTHONPATH=/function/deps:/function", "PORT=8080",
                      "fprocess=python3 /function/faaset_http.py"],
              "WorkingDir": "/function",
              "Labels": {"org.opencontainers.image.title": name or function,
                         "dev.faaset.code": hashlib.sha256(source.encode()).hexdigest()}}
    return [BASE_LAYER, code], config


def push_function(registry, folder, function, source, reference):
    """Builds FUNCTION's image from SOURCE in FOLDER and pushes it as REFERENCE; the image's full name with digest."""
    layers, config = function_image(function, source)
    layout = oci_layout(folder, layers, config)
    registry.push_layout(layout, reference)
    digest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    return f"{registry.host}/{reference.split(':')[0]}@{digest}"

