"""Starts the OpenWhisk stand-in (ow_standin.py) for a test, with two
subjects made here (the caller's namespace "faaset" and another one) and
an IAM-based namespace (its ID, and an IBM Cloud API key allowed in it),
and gives the test a small HTTP helper that speaks to it as wsk does.

    standin = OwStandin(tmp_path, ["--controller-wait", "2"])
    standin.url ; standin.auth ("UUID:KEY") ; standin.namespace
    standin.iam_namespace ; standin.apikey ; standin.other_apikey (allowed nowhere but a second namespace)
    standin.call("PUT", "/namespaces/_/actions/x", body, query={...}) -> (status, json, headers)
    standin.call(..., bearer=TOKEN) sends the IAM token instead of Basic auth
    standin.iam_token(apikey) -> (status, json) ; standin.stats() -> {"iam_tokens", "expired_token_calls"}
    standin.stop()
"""
import base64
import io
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import standin_process  # noqa: E402 - tests/support, next to this folder
NAMESPACE = "faaset"
IAM_GRANT = "urn:ibm:params:oauth:grant-type:apikey"


def make_auth():
    return f"{uuid.uuid4()}:{base64.b64encode(os.urandom(48)).decode()[:64]}"


def zipped(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return base64.b64encode(buffer.getvalue()).decode()


def make_apikey():
    return base64.urlsafe_b64encode(os.urandom(33)).decode()


class OwStandin:
    def __init__(self, folder, extra_args=()):
        self.auth, self.other_auth = make_auth(), make_auth()
        self.namespace = NAMESPACE
        self.apikey, self.other_apikey = make_apikey(), make_apikey()
        self.iam_namespace, self.other_iam_namespace = str(uuid.uuid4()), str(uuid.uuid4())
        config = {"subjects": [{"auth": self.auth, "namespace": NAMESPACE},
                               {"auth": self.other_auth, "namespace": "someone-else"}],
                  "iam_namespaces": [{"id": self.iam_namespace, "apikeys": [self.apikey]},
                                     {"id": self.other_iam_namespace, "apikeys": [self.other_apikey]}]}
        (folder / "standin.json").write_text(json.dumps(config))
        self.process, self.port = standin_process.start(
            [sys.executable, os.path.join(HERE, "ow_standin.py"), "--config", str(folder / "standin.json"),
             *extra_args])
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        """Closing stdin makes the stand-in stop its containers and remove its folder; killed if it lingers."""
        standin_process.stop(self.process)

    def call(self, method, path, body=None, query=None, auth=None, headers=None, raw=None, bearer=None):
        url = self.url + "/api/v1" + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent = {"Content-Type": "application/json"}
        auth = self.auth if auth is None else auth
        if bearer:
            sent["Authorization"] = "Bearer " + bearer
        elif auth:
            sent["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        sent.update(headers or {})
        return self.fetch(urllib.request.Request(url, data=data, method=method, headers=sent))

    def iam_token(self, apikey, grant_type=IAM_GRANT, content_type="application/x-www-form-urlencoded"):
        form = urllib.parse.urlencode({"grant_type": grant_type, "apikey": apikey}).encode()
        request = urllib.request.Request(self.url + "/identity/token", data=form, method="POST",
                                         headers={"Content-Type": content_type, "Accept": "application/json"})
        return self.fetch(request)[:2]

    def stats(self):
        return self.fetch(urllib.request.Request(self.url + "/_standin/stats"))[1]

    @staticmethod
    def fetch(request):
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read()), dict(answer.headers)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read()), dict(error.headers)
