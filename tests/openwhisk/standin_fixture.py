"""Starts the OpenWhisk stand-in (ow_standin.py) for a test, with two
subjects made here (the caller's namespace "faaset" and another one), and
gives the test a small HTTP helper that speaks to it as wsk does.

    standin = OwStandin(tmp_path, controller_wait=2)
    standin.url ; standin.auth ("UUID:KEY") ; standin.namespace
    standin.call("PUT", "/namespaces/_/actions/x", body, query={...}) -> (status, json, headers)
    standin.stop()
"""
import base64
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
NAMESPACE = "faaset"


def make_auth():
    return f"{uuid.uuid4()}:{base64.b64encode(os.urandom(48)).decode()[:64]}"


def zipped(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return base64.b64encode(buffer.getvalue()).decode()


class OwStandin:
    def __init__(self, folder, extra_args=()):
        self.auth, self.other_auth = make_auth(), make_auth()
        self.namespace = NAMESPACE
        config = {"subjects": [{"auth": self.auth, "namespace": NAMESPACE},
                               {"auth": self.other_auth, "namespace": "someone-else"}]}
        (folder / "standin.json").write_text(json.dumps(config))
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "ow_standin.py"), "--config", str(folder / "standin.json"),
             "--watch-stdin", *extra_args], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        """Closing stdin makes the stand-in stop its containers and remove its folder; killed if it lingers."""
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def call(self, method, path, body=None, query=None, auth=None, headers=None, raw=None):
        url = self.url + "/api/v1" + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent = {"Content-Type": "application/json"}
        auth = self.auth if auth is None else auth
        if auth:
            sent["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        sent.update(headers or {})
        request = urllib.request.Request(url, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read()), dict(answer.headers)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), dict(error.headers)
