"""Images built and pushed by the kernel's own code (platforms/oci_push.c,
driven by tests/unit/oci_push_tool.c) into a real registry, read back by an
independent client (skopeo) and untarred by Python's tarfile: the layout of
README "Container images", one digest per input, a second push that sends
no blob, a code change that sends one small layer, base layers mounted
within a registry and copied across registries, an image index's platform
picked, every credential source, and the sentences for bad credentials, an
unknown base and a registry that is not there."""
import base64
import hashlib
import json
import os
import pathlib
import stat
import subprocess

import oci_registry

TOOL = os.environ.get("FAASET_OCI_PUSH_TOOL") or str(
    pathlib.Path(__file__).resolve().parents[2] / "build" / "tests" / "unit" / "oci_push_tool")

SOURCE = 'def hello(request, context):\n    return {"hi": request.get("name")}\n'


def push(registry, env, tmp_path, target="fn/hello:v1", source=SOURCE, base=None, extra=(), host=None):
    source_file = tmp_path / "source.py"
    source_file.write_text(source)
    args = [TOOL, "--base", base or f"{registry.host}/base/tiny:1", "--target", f"{host or registry.host}/{target}",
            "--source", str(source_file), "--function", "hello", "--title", "hello", "--code-hash", "c0de",
            *([] if "--no-cmd" in extra else ["--cmd", "faaset_handler.handle"]), *extra]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert "ERROR: AddressSanitizer" not in done.stderr and "runtime error:" not in done.stderr, done.stderr
    assert oci_registry.PASSWORD not in done.stdout + done.stderr
    result = json.loads(done.stdout)
    return result


def test_image_layout_read_back_by_skopeo(registry, docker_env, tmp_path):
    result = push(registry, docker_env, tmp_path, target="fn/layout:v1")
    assert result["ok"], result
    raw, manifest = registry.inspect_raw("fn/layout:v1")
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == result["digest"]
    assert result["uri"] == f"{registry.host}/fn/layout@{result['digest']}"
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert [layer["mediaType"] for layer in manifest["layers"]] == ["application/vnd.oci.image.layer.v1.tar+gzip"] * 2
    config = registry.inspect_config("fn/layout:v1")
    assert config["config"]["Cmd"] == ["faaset_handler.handle"]
    assert config["config"]["WorkingDir"] == "/function"
    assert "PYTHONPATH=/function/deps:/function" in config["config"]["Env"]
    assert "PATH=/usr/local/bin:/usr/bin:/bin" in config["config"]["Env"]
    assert config["config"]["Labels"] == {"org.opencontainers.image.title": "hello", "dev.faaset.code": "c0de"}
    assert len(config["rootfs"]["diff_ids"]) == 2
    layout = registry.copy_to_layout("fn/layout:v1", tmp_path / "pulled")
    files = oci_registry.layer_files(layout, oci_registry.layout_manifest(layout))
    assert files["etc/os-release"].startswith(b'NAME="faaset test base"')
    assert files["function/faaset_function.py"] == SOURCE.encode()
    assert files["function/faaset_handler.py"].startswith(b'FAASET_USER_FUNCTION = "hello"\n')
    for name in ("SAAF.py", "Inspector.py", "main.py", "__main__.py"):
        assert files["function/" + name]
    import tarfile
    code_layer = layout / "blobs" / "sha256" / manifest["layers"][1]["digest"].split(":")[1]
    with tarfile.open(code_layer, "r:gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.mtime, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
    assert {m.mode for m in members if m.isdir()} == {0o755} and {m.mode for m in members if m.isfile()} == {0o644}


def test_same_cell_same_digest_and_no_blob_sent_again(registry, docker_env, tmp_path):
    first = push(registry, docker_env, tmp_path, target="fn/again:v1")
    assert first["ok"] and first["blobs_sent"] == 2 and first["blobs_mounted"] == 1 and first["bytes_sent"] > 0
    mark = registry.log_mark()
    second = push(registry, docker_env, tmp_path, target="fn/again:v1")
    assert second["digest"] == first["digest"]
    assert (second["bytes_sent"], second["blobs_sent"], second["blobs_mounted"], second["blobs_present"]) == (0, 0, 0, 3)
    assert registry.blob_uploads_since(mark) == []


def test_code_change_sends_one_small_layer_and_the_config(registry, docker_env, tmp_path):
    first = push(registry, docker_env, tmp_path, target="fn/change:v1")
    mark = registry.log_mark()
    changed = push(registry, docker_env, tmp_path, target="fn/change:v1", source=SOURCE.replace("hi", "hello"))
    assert changed["ok"] and changed["digest"] != first["digest"]
    assert changed["blobs_sent"] == 2 and changed["blobs_present"] == 1  # code layer + config; the base is there
    assert len(registry.blob_uploads_since(mark)) == 2
    _, manifest = registry.inspect_raw("fn/change:v1")
    config_size = manifest["config"]["size"]
    assert changed["bytes_sent"] == manifest["layers"][-1]["size"] + config_size
    print(f"first push {first['bytes_sent']} bytes, after a code change {changed['bytes_sent']} bytes")


def test_dependency_layer_is_kept_across_code_changes(registry, docker_env, tmp_path):
    deps = tmp_path / "deps"
    (deps / "tinypkg").mkdir(parents=True)
    (deps / "tinypkg" / "__init__.py").write_text("VALUE = 42\n")
    data = os.urandom(12 * 1024 * 1024)  # the layer is over 8 MiB: it goes in chunks (PATCH), not one PUT
    (deps / "tinypkg" / "data.bin").write_bytes(data)
    (deps / "tinypkg-1.0.dist-info").mkdir()
    (deps / "tinypkg-1.0.dist-info" / "METADATA").write_text("Name: tinypkg\nVersion: 1.0\n")
    first = push(registry, docker_env, tmp_path, target="fn/deps:v1", extra=["--deps", str(deps)])
    assert first["ok"] and first["blobs_sent"] == 3, first
    changed = push(registry, docker_env, tmp_path, target="fn/deps:v1", source=SOURCE + "\n# changed\n",
                   extra=["--deps", str(deps)])
    assert changed["blobs_sent"] == 2 and changed["blobs_present"] == 2
    layout = registry.copy_to_layout("fn/deps:v1", tmp_path / "pulled")
    manifest = oci_registry.layout_manifest(layout)
    assert len(manifest["layers"]) == 3
    files = oci_registry.layer_files(layout, manifest)
    assert files["function/deps/tinypkg/__init__.py"] == b"VALUE = 42\n"
    assert files["function/deps/tinypkg/data.bin"] == data
    assert "function/deps/tinypkg-1.0.dist-info/METADATA" in files
    config = registry.inspect_config("fn/deps:v1")
    assert config["history"][-2:] == [{"created_by": "faaset: dependencies (/function/deps)"},
                                      {"created_by": "faaset: function code (/function)"}]


def test_openfaas_shape_entrypoint_extra_file_and_env(registry, docker_env, tmp_path):
    server = tmp_path / "faaset_http.py"
    server.write_text("# the HTTP server\n")
    result = push(registry, docker_env, tmp_path, target="fn/http:v1",
                  extra=["--no-cmd", "--entrypoint", "python3", "--entrypoint", "/function/faaset_http.py",
                         "--env", "PORT=8080", "--extra", f"faaset_http.py={server}"])
    assert result["ok"], result
    layout = registry.copy_to_layout("fn/http:v1", tmp_path / "pulled")
    # the config as stored (skopeo inspect --config leaves out an empty Cmd)
    config_digest = oci_registry.layout_manifest(layout)["config"]["digest"].split(":")[1]
    config = json.loads((layout / "blobs" / "sha256" / config_digest).read_bytes())["config"]
    assert config["Entrypoint"] == ["python3", "/function/faaset_http.py"] and config["Cmd"] == []
    assert "PORT=8080" in config["Env"]
    assert oci_registry.layer_files(layout, oci_registry.layout_manifest(layout))["function/faaset_http.py"] == \
        b"# the HTTP server\n"


def test_base_in_another_registry_is_copied_and_an_index_picks_the_platform(registry, docker_env, tmp_path):
    other = oci_registry.Registry(tmp_path / "other", auth=False)
    try:
        amd = oci_registry.tiny_base_image(tmp_path / "multi")
        arm_layout = oci_registry.tiny_base_image(tmp_path / "arm", env=("PATH=/arm",), architecture="arm64")
        # one layout holding an index of both platforms
        for blob in (arm_layout / "blobs" / "sha256").iterdir():
            (amd / "blobs" / "sha256" / blob.name).write_bytes(blob.read_bytes())
        entries = []
        for layout, architecture in ((tmp_path / "multi", "amd64"), (arm_layout, "arm64")):
            entry = json.loads((layout / "index.json").read_text())["manifests"][0]
            entries.append(dict(entry, platform={"os": "linux", "architecture": architecture}, annotations={}))
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
        index_bytes = json.dumps(index).encode()
        digest = hashlib.sha256(index_bytes).hexdigest()
        (amd / "blobs" / "sha256" / digest).write_bytes(index_bytes)
        (amd / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
            {"mediaType": index["mediaType"], "digest": "sha256:" + digest, "size": len(index_bytes),
             "annotations": {"org.opencontainers.image.ref.name": "image"}}]}))
        other.skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{amd}:image", f"docker://{other.host}/multi:1")
        result = push(registry, docker_env, tmp_path, target="fn/copied:v1", base=f"{other.host}/multi:1",
                      extra=["--arch", "arm64"])
        assert result["ok"], result
        assert result["blobs_mounted"] == 0 and result["blobs_sent"] == 3  # the base layer copied, code, config
        assert "PATH=/arm" in registry.inspect_config("fn/copied:v1")["config"]["Env"]
        missing = push(registry, docker_env, tmp_path, target="fn/copied:v2", base=f"{other.host}/multi:1",
                       extra=["--arch", "s390x"])
        assert missing["message"] == ("the base image has no linux/s390x manifest (it has linux/amd64, linux/arm64): "
                                      "pick a base built for s390x")
    finally:
        other.stop()


def test_a_base_layer_larger_than_any_http_answer_is_copied_in_bounded_chunks(registry, docker_env, tmp_path):
    """A base layer of 72 MiB in another registry (the HTTP engine takes answers of at most 64 MiB) is copied in
    8 MiB chunks, a ranged GET and a PATCH each: the image is whole (skopeo copies it out, the layer's digest
    checked), and the push's peak memory grows by far less than the layer compared with a push of a small base."""
    other = oci_registry.Registry(tmp_path / "other", auth=False)
    try:
        small = oci_registry.tiny_base_image(tmp_path / "small")
        other.skopeo("copy", "--dest-tls-verify=false", f"oci:{small}:image", f"docker://{other.host}/small:1")
        large = oci_registry.tiny_base_image(tmp_path / "large")
        layer_size = oci_registry.add_large_layer(large, 72 * 1024 * 1024)
        other.skopeo("copy", "--dest-tls-verify=false", f"oci:{large}:image", f"docker://{other.host}/large:1")
        assert layer_size > 64 * 1024 * 1024

        def peak_kib(base, target):
            # ASan's quarantine would keep every freed chunk resident; the test measures FaaSET's own use
            env = dict(docker_env, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=8")
            result = push(registry, env, tmp_path, target=target, base=f"{other.host}/{base}")
            return result, result.get("peak_kib")

        small_result, small_peak = peak_kib("small:1", "fn/small-base:v1")
        assert small_result["ok"], small_result
        result, large_peak = peak_kib("large:1", "fn/large-base:v1")
        assert result["ok"], result
        print(f"peak memory: {small_peak} KiB with a small base, {large_peak} KiB with a {layer_size} byte layer")
        assert large_peak - small_peak < 48 * 1024, (small_peak, large_peak)
        assert result["blobs_sent"] == 4 and result["bytes_sent"] > layer_size, result
        layout = registry.copy_to_layout("fn/large-base:v1", tmp_path / "pulled")
        manifest = oci_registry.layout_manifest(layout)
        copied = layout / "blobs" / "sha256" / manifest["layers"][1]["digest"].split(":")[1]
        assert copied.stat().st_size == layer_size
        assert "sha256:" + hashlib.sha256(copied.read_bytes()).hexdigest() == manifest["layers"][1]["digest"]
    finally:
        other.stop()


def test_credential_helper_and_podman_auth_file(registry, tmp_path):
    helper_dir = tmp_path / "bin"
    helper_dir.mkdir()
    helper = helper_dir / "docker-credential-faasettest"
    helper.write_text("#!/bin/sh\nread host\n"
                      f"[ \"$host\" = \"{registry.host}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\n"
                      f"echo '{{\"ServerURL\":\"'$host'\",\"Username\":\"{oci_registry.USER}\","
                      f"\"Secret\":\"{oci_registry.PASSWORD}\"}}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    docker = tmp_path / "docker"
    docker.mkdir()
    (docker / "config.json").write_text(json.dumps({"credHelpers": {registry.host: "faasettest"}}))
    env = dict(os.environ, HOME=str(tmp_path), DOCKER_CONFIG=str(docker),
               PATH=f"{helper_dir}:{os.environ['PATH']}")
    env.pop("REGISTRY_AUTH_FILE", None)
    assert push(registry, env, tmp_path, target="fn/helper:v1")["ok"]

    auth = tmp_path / "auth.json"
    token = base64.b64encode(f"{oci_registry.USER}:{oci_registry.PASSWORD}".encode()).decode()
    auth.write_text(json.dumps({"auths": {registry.host: {"auth": token}}}))
    env = dict(os.environ, HOME=str(tmp_path / "empty-home"), REGISTRY_AUTH_FILE=str(auth))
    env.pop("DOCKER_CONFIG", None)
    assert push(registry, env, tmp_path, target="fn/podman:v1")["ok"]
    runtime = tmp_path / "runtime"
    (runtime / "containers").mkdir(parents=True)
    (runtime / "containers" / "auth.json").write_text(auth.read_text())
    env = dict(os.environ, HOME=str(tmp_path / "empty-home"), XDG_RUNTIME_DIR=str(runtime))
    env.pop("DOCKER_CONFIG", None)
    env.pop("REGISTRY_AUTH_FILE", None)
    assert push(registry, env, tmp_path, target="fn/xdg:v1")["ok"]


def test_sentences_for_bad_credentials_none_unknown_base_and_no_registry(registry, docker_env, tmp_path):
    bad = dict(docker_env, DOCKER_CONFIG=str(oci_registry.docker_config(tmp_path / "bad", registry.host,
                                                                           password="wrong-password")))
    result = push(registry, bad, tmp_path, target="fn/bad:v1")
    assert not result["ok"] and result["error_type"] == "UNAUTHORIZED"
    assert result["message"].startswith(f"the registry {registry.host} refused the credentials from DOCKER_CONFIG's "
                                        f"config.json ({tmp_path / 'bad'}/config.json) for the base image base/tiny:1 "
                                        f"(UNAUTHORIZED: ")
    assert "wrong-password" not in result["message"]

    none = {key: value for key, value in docker_env.items() if key != "DOCKER_CONFIG"}
    result = push(registry, none, tmp_path, target="fn/none:v1")
    assert result["message"] == (f"the registry {registry.host} needs credentials for the base image base/tiny:1 and "
                                 f"none were found (looked in ~/.docker/config.json): log in with "
                                 f"`docker login {registry.host}`")

    result = push(registry, docker_env, tmp_path, target="fn/unknown:v1", base=f"{registry.host}/base/absent:3")
    assert result["error_type"] == "MANIFEST_UNKNOWN"
    assert result["message"].startswith(f"the registry {registry.host} does not have the base image base/absent:3 "
                                        "(MANIFEST_UNKNOWN")
    assert result["message"].endswith(": check the image's name and tag")

    port = oci_registry.free_port()
    result = push(registry, docker_env, tmp_path, target="fn/x:v1", base=f"127.0.0.1:{port}/base/tiny:1",
                  host=f"127.0.0.1:{port}")
    assert result["error_type"] == "NetworkError"
    assert result["message"].startswith(f"the registry 127.0.0.1:{port} cannot be reached for the base image "
                                        "base/tiny:1 (")
    assert result["message"].endswith("): check the address and that it is running")

    result = push(registry, docker_env, tmp_path, target="Fn/Upper:v1")
    assert result["error_type"] == "StartError" and "is not an image reference" in result["message"]


def test_bearer_tokens_from_the_registrys_token_service(tmp_path):
    """A registry in token mode: its 401 names the realm, service and scope; the token service gets the Basic
    credentials (or the identity token as a refresh grant) and signs a JWT for the scopes, which then open
    the pulls of the base, the mount across repositories and the pushes."""
    tokens = oci_registry.TokenServer(tmp_path / "tokens")
    registry = oci_registry.Registry(tmp_path / "server", token_server=tokens)
    try:
        # skopeo logs in through the same token service to push the base
        registry.push_layout(oci_registry.tiny_base_image(tmp_path / "base"), "base/tiny:1")
        env = {key: value for key, value in os.environ.items()
               if key not in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")}
        env.update(HOME=str(tmp_path / "home"),
                   DOCKER_CONFIG=str(oci_registry.docker_config(tmp_path / "docker", registry.host)))
        del tokens.requests[:]
        result = push(registry, env, tmp_path, target="fn/bearer:v1")
        assert result["ok"] and result["blobs_mounted"] == 1, result
        assert tokens.requests and all(method == "GET" and authorized for method, authorized, _ in tokens.requests)
        # the scopes granted so far are asked again with each token (the registry orders actions at random)
        granted = {scope.rpartition(":")[0] + ":" + ",".join(sorted(scope.rpartition(":")[2].split(",")))
                   for scope in tokens.requests[-1][2]}
        assert {"repository:base/tiny:pull", "repository:fn/bearer:pull,push"} <= granted, tokens.requests

        identity = tmp_path / "identity"
        identity.mkdir()
        (identity / "config.json").write_text(json.dumps(
            {"auths": {registry.host: {"identitytoken": oci_registry.TokenServer.IDENTITY_TOKEN}}}))
        del tokens.requests[:]
        again = push(registry, dict(env, DOCKER_CONFIG=str(identity)), tmp_path, target="fn/bearer:v1")
        assert again["ok"] and again["digest"] == result["digest"] and again["bytes_sent"] == 0, again
        assert tokens.requests and all(method == "POST" and authorized for method, authorized, _ in tokens.requests)

        bad = push(registry, dict(env, DOCKER_CONFIG=str(oci_registry.docker_config(
            tmp_path / "bad", registry.host, password="wrong"))), tmp_path, target="fn/bearer:v2")
        assert bad["error_type"] == "UNAUTHORIZED" and bad["message"].startswith(
            f"the registry {registry.host} refused the credentials from DOCKER_CONFIG's config.json "
            f"({tmp_path / 'bad'}/config.json) for the base image base/tiny:1 (its token service answered HTTP 401)")
    finally:
        registry.stop()
        tokens.stop()
