"""Starts the Cloud Functions stand-in (gcf_standin.py) for a test, with a
service-account key, an authorized user and projects made here, and gives
the test small HTTP and JWT helpers that speak to it as Google's clients do.

    standin = GcfStandin(tmp_path, operation_seconds=0.3)   # python=: one with Flask, when this one lacks it
    standin.url / standin.token_uri / standin.key_file (a service-account key JSON)
    standin.access_token() ; standin.id_token(audience)
    standin.call("GET", "/v2/projects/...", token=...) -> (status, json)
    standin.stop()
"""
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import standin_process  # noqa: E402 - tests/support, next to this folder

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
PROJECT = "faaset-test"
EMAIL = f"deployer@{PROJECT}.iam.gserviceaccount.com"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_key(folder, name):
    """An RSA key: (private key object, PEM text of the private key, path of the public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = folder / f"{name}.pub.pem"
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return key, pem, public


def sign_jwt(key, claims, header=None):
    header = header or {"alg": "RS256", "typ": "JWT", "kid": "key-1"}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64url(signature)}"


class GcfStandin:
    def __init__(self, folder, operation_seconds=0.3, token_seconds=3599, public_url=None, extra_args=(),
                 python=None):
        self.folder = folder
        self.key, pem, public = make_key(folder, "deployer")
        self.other_key, _, other_public = make_key(folder, "reader")
        self.user = {"client_id": "1234-standin.apps.googleusercontent.com", "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty",
                     "refresh_token": "1//standin-refresh-" + b64url(os.urandom(24)), "email": "user@example.com"}
        config = {"service_accounts": [
                      {"client_email": EMAIL, "public_key_file": str(public), "private_key_id": "key-1"},
                      {"client_email": f"reader@{PROJECT}.iam.gserviceaccount.com",
                       "public_key_file": str(other_public), "permissions": ["cloudfunctions.functions.get"]}],
                  "authorized_users": [self.user],
                  "projects": [PROJECT, "disabled-project"], "disabled_projects": ["disabled-project"],
                  "metadata_service_account": EMAIL}
        self.other_email = f"reader@{PROJECT}.iam.gserviceaccount.com"
        (folder / "standin.json").write_text(json.dumps(config))
        self.process, self.port = standin_process.start(
            [python or sys.executable, os.path.join(HERE, "gcf_standin.py"), "--config", str(folder / "standin.json"),
             "--operation-seconds", str(operation_seconds), "--token-seconds", str(token_seconds),
             *(["--public-url", public_url] if public_url else []), *extra_args])
        self.url = f"http://127.0.0.1:{self.port}"
        self.public_url = public_url or self.url
        self.token_uri = self.public_url + "/token"
        self.key_file = folder / "key.json"
        self.key_file.write_text(json.dumps({
            "type": "service_account", "project_id": PROJECT, "private_key_id": "key-1", "private_key": pem,
            "client_email": EMAIL, "client_id": "1234567890", "token_uri": self.token_uri,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth"}))
        self.adc_file = folder / "application_default_credentials.json"
        self.adc_file.write_text(json.dumps(dict(type="authorized_user", client_id=self.user["client_id"],
                                                 client_secret=self.user["client_secret"],
                                                 refresh_token=self.user["refresh_token"])))
        os.chmod(self.key_file, 0o600)

    def stop(self):
        """Closing stdin makes the stand-in remove its folder; killed if it lingers."""
        standin_process.stop(self.process)

    def request(self, method, url, body=None, headers=None):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read(), dict(error.headers)

    def grant(self, claims, key=None, header=None):
        form = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                       "assertion": sign_jwt(key or self.key, claims, header)}).encode()
        status, body, _ = self.request("POST", self.url + "/token", form,
                                       {"Content-Type": "application/x-www-form-urlencoded"})
        return status, json.loads(body)

    def claims(self, **extra):
        now = int(time.time())
        claims = {"iss": EMAIL, "scope": SCOPE, "aud": self.token_uri, "iat": now, "exp": now + 3600}
        claims.update(extra)
        return {k: v for k, v in claims.items() if v is not None}

    def access_token(self):
        status, body = self.grant(self.claims())
        assert status == 200, body
        return body["access_token"]

    def id_token(self, audience):
        status, body = self.grant(self.claims(scope=None, target_audience=audience))
        assert status == 200, body
        return body["id_token"]

    def call(self, method, path, body=None, token=None, query=None):
        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, data, _ = self.request(method, url, body, headers)
        return status, json.loads(data) if data else {}

    def wait(self, operation, token):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, op = self.call("GET", f"/v2/{operation['name']}", token=token)
            assert status == 200, op
            if op["done"]:
                return op
            time.sleep(0.05)
        raise AssertionError(f"operation {operation['name']} never ended")
