"""faaset_deps: installs a cloud function's dependencies into a layer
folder, for the kernel's dependency cache (runtime/deps.c).

The kernel runs this with the runtime's interpreter (`python -c SOURCE`),
in the notebook's folder, with the kernel's whole environment, so pip's own
configuration (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, pip.conf,
every PIP_* variable) applies as it does to `pip install` in a shell. The
job is the JSON in $FAASET_DEPS_JOB:

    {"folder": STAGING, "requirements": TEXT, "requirements_file": PATH or null,
     "target": {"description": "aws (python3.12, arm64)", "python_version": "3.12" or "",
                "platforms": ["manylinux2014_aarch64", ...], "zip": true}}

It runs `python -m pip install --target STAGING/python` for the target:
with platforms, pip picks wheels for that Python version, CPython ABI and
those manylinux tags only (--only-binary=:all:, no .pyc for this
interpreter); without, for this interpreter as it is. With "zip" it then
writes STAGING/layer.zip, the folder under `python/` as Lambda layers
want it: deflated, names sorted, every timestamp 1980-01-01, so the same
packages give the same bytes. Last it writes STAGING/layer.json:
{"ok": true, "installed": [[name, version], ...], "unzipped_bytes",
"zip_bytes"} or {"ok": false, "error": SENTENCE}, the sentence naming the
package pip could not install and the target. pip's own output goes to
this process's stdout, which the kernel keeps for when layer.json is
missing (the interpreter could not start pip at all). Everything it writes
is private to the user (umask 077), as the rest of .faaset is.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile


def pip_command(job, target_dir):
    target = job["target"]
    command = [sys.executable, "-m", "pip", "install", "--target", target_dir, "--disable-pip-version-check",
               "--no-input", "--progress-bar", "off"]
    if target.get("platforms"):
        version = target["python_version"]
        command += ["--only-binary=:all:", "--no-compile", "--python-version", version, "--implementation", "cp",
                    "--abi", "cp" + version.replace(".", "")]
        for platform in target["platforms"]:
            command += ["--platform", platform]
    if job.get("requirements_file"):
        command += ["-r", job["requirements_file"]]
    else:
        listed = os.path.join(job["folder"], "requirements.txt")
        with os.fdopen(os.open(listed, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(job["requirements"])
        command += ["-r", listed]
    return command


def explain(output, description):
    """One sentence from pip's ERROR lines: what failed, for which target."""
    errors = [line[len("ERROR: "):].strip() for line in output.splitlines() if line.startswith("ERROR: ")]
    said = "; ".join(errors[-3:]) if errors else (output.strip().splitlines() or ["pip failed"])[-1]
    missing = re.search(r"No matching distribution found for (\S+)", output)
    if missing:
        return (f"no installable wheel of {missing.group(1)} for {description} (pip looks for wheels built for "
                f"the target, not for this machine; check the name and version, or that the package publishes "
                f"such a wheel): pip said: {said}")
    if "conflicting dependencies" in output or "ResolutionImpossible" in output:
        return f"the requirements conflict for {description}: pip said: {said}"
    if re.search(r"(NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|"
                 r"Network is unreachable|Connection refused)", output):
        return (f"pip could not reach the package index while installing for {description} (no network? set "
                f"PIP_INDEX_URL or PIP_FIND_LINKS for a private index or a folder of wheels): pip said: {said}")
    return f"pip could not install the requirements for {description}: pip said: {said}"


def installed(folder):
    found = []
    for entry in sorted(os.listdir(folder)):
        if entry.endswith(".dist-info"):
            name, _, version = entry[:-len(".dist-info")].rpartition("-")
            found.append([name, version])
    return found


def files_under(folder):
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            yield os.path.join(root, name)


def write_zip(folder, path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for file in sorted(files_under(folder)):
            name = "python/" + os.path.relpath(file, folder).replace(os.sep, "/")
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if os.access(file, os.X_OK) else 0o644) << 16
            info.file_size = os.path.getsize(file)  # streamed: a large file is never all in memory
            with open(file, "rb") as source, archive.open(info, "w") as target:
                shutil.copyfileobj(source, target, 1 << 20)


def main():
    os.umask(0o077)  # the layer is the notebook's private state, like the rest of .faaset
    job = json.loads(os.environ["FAASET_DEPS_JOB"])
    folder = job["folder"]
    target_dir = os.path.join(folder, "python")
    result_path = os.path.join(folder, "layer.json")
    process = subprocess.run(pip_command(job, target_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, text=True, errors="replace")
    sys.stdout.write(process.stdout)
    if process.returncode != 0:
        result = {"ok": False, "error": explain(process.stdout, job["target"]["description"])}
    else:
        result = {"ok": True, "installed": installed(target_dir),
                  "unzipped_bytes": sum(os.path.getsize(f) for f in files_under(target_dir)), "zip_bytes": 0}
        if job["target"].get("zip"):
            write_zip(target_dir, os.path.join(folder, "layer.zip"))
            result["zip_bytes"] = os.path.getsize(os.path.join(folder, "layer.zip"))
    fd = os.open(result_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(result, f)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
