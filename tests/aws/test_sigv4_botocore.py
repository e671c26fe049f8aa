"""faaset's SigV4 signer (through tests/unit/sigv4_tool.c) against botocore.

Several hundred Lambda-style requests, drawn from a fixed seed: plain
function names, full and partial ARNs, qualifiers (:prod, :$LATEST, :7),
paths encoded as the SDKs send them and raw, unsorted queries with empty
values, GET/POST/PUT/DELETE, Invoke headers in random letter case with stray
blanks, session tokens on some, JSON bodies with non-ASCII text, AWS hosts
and local endpoints with ports, and some requests given as one URL. Then a
set of generic paths (UTF-8, spaces, '.', '..', '//') that botocore
normalizes. Each is signed by botocore's SigV4Auth for service "lambda" at
a fixed time and by the tool; the Authorization headers must be equal."""
import base64
import datetime
import json
import random
import string
import subprocess
from unittest import mock
from urllib.parse import quote

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SEED = 20150830
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "sa-east-1", "cn-north-1"]
QUALIFIERS = ["prod", "$LATEST", "7", "blue-green", "v2_beta"]


def encode(text):
    """As botocore's serializer encodes a URI label or query value."""
    return quote(text, safe="-._~")


def random_name(rng):
    alphabet = string.ascii_letters + string.digits + "-_"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 64)))


def random_function(rng, region):
    name = random_name(rng)
    kind = rng.random()
    if kind < 0.35:
        function = name
    elif kind < 0.8:
        account = "".join(rng.choice(string.digits) for _ in range(12))
        function = f"arn:aws:lambda:{region}:{account}:function:{name}"
    else:
        account = "".join(rng.choice(string.digits) for _ in range(12))
        function = f"{account}:function:{name}"
    if rng.random() < 0.4:
        function += ":" + rng.choice(QUALIFIERS)
    return function


def random_token(rng):
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(100, 400))) + rng.choice(["", "=", "=="])


def random_body(rng):
    words = ["héllo", "wörld", "日本語", "🚀 launch", "naïve café", "plain", "Ελληνικά", "emoji 😀", 'quote " \\']
    payload = {
        "name": rng.choice(words),
        "n": rng.randint(-10**6, 10**6),
        "nested": {"list": [rng.choice(words) for _ in range(rng.randint(0, 5))], "ok": rng.random() < 0.5},
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def unsorted_query(rng, pairs):
    rng.shuffle(pairs)
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs)


def random_header_case(rng, name):
    choice = rng.random()
    if choice < 0.25:
        return name.lower()
    if choice < 0.35:
        return name.upper()
    return name


def lambda_request(rng):
    region = rng.choice(REGIONS)
    function = random_function(rng, region)
    label = encode(function) if rng.random() < 0.75 else function  # the SDK's form, or raw
    base = "/2015-03-31/functions"
    headers = {}
    body = b""
    query_pairs = []
    operation = rng.choice(["invoke", "invoke", "invoke", "get", "get_configuration", "update_code",
                            "update_configuration", "delete", "list", "create"])
    if operation == "invoke":
        method, path = "POST", f"{base}/{label}/invocations"
        headers["Content-Type"] = "application/json"
        headers["X-Amz-Invocation-Type"] = rng.choice(["RequestResponse", "Event", "DryRun"])
        if rng.random() < 0.5:
            headers["X-Amz-Log-Type"] = "Tail"
        if rng.random() < 0.2:
            context = base64.b64encode(json.dumps({"custom": {"k": "välue"}}).encode()).decode()
            headers["X-Amz-Client-Context"] = context
        if rng.random() < 0.3:
            query_pairs.append(("Qualifier", rng.choice(QUALIFIERS)))
        body = random_body(rng) if rng.random() < 0.9 else b""
    elif operation == "get":
        method, path = "GET", f"{base}/{label}"
        if rng.random() < 0.5:
            query_pairs.append(("Qualifier", rng.choice(QUALIFIERS)))
    elif operation == "get_configuration":
        method, path = "GET", f"{base}/{label}/configuration"
        if rng.random() < 0.5:
            query_pairs.append(("Qualifier", rng.choice(QUALIFIERS)))
    elif operation == "update_code":
        method, path = "PUT", f"{base}/{label}/code"
        headers["Content-Type"] = "application/json"
        zipped = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))).decode()
        body = json.dumps({"ZipFile": zipped, "Publish": rng.random() < 0.5}).encode()
    elif operation == "update_configuration":
        method, path = "PUT", f"{base}/{label}/configuration"
        headers["Content-Type"] = "application/json"
        body = json.dumps({"MemorySize": rng.choice([128, 256, 10240]), "Description": "déploiement ✓"},
                          ensure_ascii=False).encode("utf-8")
    elif operation == "delete":
        method, path = "DELETE", f"{base}/{label}"
        if rng.random() < 0.5:
            query_pairs.append(("Qualifier", rng.choice(QUALIFIERS)))
    elif operation == "list":
        method, path = "GET", f"{base}/"
        query_pairs.append(("MaxItems", str(rng.randint(1, 50))))
        marker_alphabet = string.ascii_letters + string.digits + "+/="
        query_pairs.append(("Marker", "".join(rng.choice(marker_alphabet) for _ in range(rng.randint(0, 40)))))
        if rng.random() < 0.5:
            query_pairs.append(("FunctionVersion", "ALL"))
        if rng.random() < 0.3:
            query_pairs.append(("MasterRegion", rng.choice(REGIONS)))
    else:
        method, path = "POST", base
        headers["Content-Type"] = "application/json"
        body = json.dumps({"FunctionName": function.split(":")[-1], "Runtime": "python3.12",
                           "Environment": {"Variables": {"GREETING": "grüß dich"}}},
                          ensure_ascii=False).encode("utf-8")
    if query_pairs and rng.random() < 0.2:
        query_pairs.append(("Qualifier", ""))  # an empty value
    query = unsorted_query(rng, query_pairs)
    if rng.random() < 0.15:
        headers["X-Faaset-Note"] = rng.choice(["  padded  ", "inner   spaces  here", "tab\there", "x"])
    headers = {random_header_case(rng, k): v for k, v in headers.items()}
    endpoint = rng.random()
    if endpoint < 0.7:
        scheme, host = "https", f"lambda.{region}.amazonaws.com"
    elif endpoint < 0.8:
        scheme, host = "http", f"127.0.0.1:{rng.randint(1024, 65535)}"
    elif endpoint < 0.9:
        scheme, host = "http", "localhost:4566"
    else:
        scheme, host = "https", f"lambda.{region}.amazonaws.com:8443"
    return region, method, scheme, host, path, query, headers, body


def generic_request(rng):
    """Paths botocore normalizes: UTF-8, spaces, dot segments, doubled slashes."""
    pieces = ["a", "b c", "ünïcode", "日本", ".", "..", "", "x~y", "$dollar", "semi;colon", "at@sign", "plus+",
              "%41already", "tilde~"]
    segments = [rng.choice(pieces) for _ in range(rng.randint(0, 6))]
    path = "/" + "/".join(segments)
    if rng.random() < 0.3:
        path += "/"
    query = unsorted_query(rng, [(rng.choice(["b", "a", "A", "a-b", "ü"]), rng.choice(["1", "", "x y", "ä"]))
                                 for _ in range(rng.randint(0, 4))])
    region = rng.choice(REGIONS)
    return region, rng.choice(["GET", "POST"]), "https", f"lambda.{region}.amazonaws.com", path, query, {}, b""


def random_date(rng):
    start = datetime.datetime(2015, 1, 1)
    moment = start + datetime.timedelta(seconds=rng.randint(0, 16 * 365 * 86400))
    return moment.strftime("%Y%m%dT%H%M%SZ")


def make_cases():
    rng = random.Random(SEED)
    cases = []
    for i in range(360):
        region, method, scheme, host, path, query, headers, body = (
            lambda_request(rng) if i < 300 else generic_request(rng))
        access_key = "AKIA" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))
        secret_key = "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(40))
        token = random_token(rng) if rng.random() < 0.35 else None
        cases.append({
            "method": method, "scheme": scheme, "host": host, "path": path, "query": query,
            "headers": headers, "body": body, "region": region, "amz_date": random_date(rng),
            "access_key": access_key, "secret_key": secret_key, "token": token,
            "as_url": rng.random() < 0.25,
        })
    return cases


def url_of(case):
    return f"{case['scheme']}://{case['host']}{case['path']}" + (f"?{case['query']}" if case["query"] else "")


def botocore_sign(case):
    request = AWSRequest(method=case["method"], url=url_of(case), data=case["body"], headers=dict(case["headers"]))
    request.context["timestamp"] = case["amz_date"]
    moment = datetime.datetime.strptime(case["amz_date"], "%Y%m%dT%H%M%SZ")
    signer = SigV4Auth(Credentials(case["access_key"], case["secret_key"], case["token"]), "lambda", case["region"])
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=moment):
        signer.add_auth(request)
    assert request.headers["X-Amz-Date"] == case["amz_date"]
    return request.headers["Authorization"], signer.canonical_request(request)


def tool_line(case):
    line = {
        "method": case["method"], "headers": case["headers"],
        "body_b64": base64.b64encode(case["body"]).decode(), "region": case["region"], "service": "lambda",
        "amz_date": case["amz_date"], "access_key": case["access_key"], "secret_key": case["secret_key"],
    }
    if case["token"] is not None:
        line["token"] = case["token"]
    if case["as_url"]:
        line["url"] = url_of(case)
    else:
        line.update(host=case["host"], path=case["path"], query=case["query"])
    return json.dumps(line, ensure_ascii=False)


def run_tool(tool, cases, *args):
    stdin = "".join(tool_line(case) + "\n" for case in cases)
    done = subprocess.run([tool, *args], input=stdin.encode("utf-8"), capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    lines = done.stdout.decode("utf-8").splitlines()
    assert len(lines) == len(cases), done.stderr.decode(errors="replace")
    return lines


def test_lambda_requests_sign_as_botocore_does(sigv4_tool):
    cases = make_cases()
    assert len(cases) >= 200
    assert sum(1 for c in cases if c["token"]) >= 50
    assert sum(1 for c in cases if "arn%3Aaws" in c["path"] or "arn:aws" in c["path"]) >= 50
    ours = run_tool(sigv4_tool, cases)
    mismatches = []
    for case, mine in zip(cases, ours):
        expected, canonical = botocore_sign(case)
        if mine != expected:
            mismatches.append((case, expected, mine, canonical))
    if mismatches:
        case, expected, mine, canonical = mismatches[0]
        detail = json.loads(run_tool(sigv4_tool, [case], "--json")[0]) if not mine.startswith("ERROR") else {}
        raise AssertionError(
            f"{len(mismatches)} of {len(cases)} differ from botocore; first: {url_of(case)}\n"
            f"botocore: {expected}\nfaaset:   {mine}\n"
            f"--- botocore canonical request\n{canonical}\n"
            f"--- faaset canonical request\n{detail.get('canonical_request')}")
    print(f"{len(cases)} requests signed identically by faaset and botocore")


def test_tool_headers_and_sensitivity(sigv4_tool):
    """The comparison is not vacuous: a changed secret, body or query
    changes the signature, and the tool adds the headers botocore adds."""
    case = make_cases()[0]
    case.update(token="FQoGZXIvYXdzEXAMPLEtoken", as_url=False)
    base = run_tool(sigv4_tool, [case])[0]
    for change in ({"secret_key": case["secret_key"] + "x"}, {"body": case["body"] + b" "},
                   {"query": "X=1"}, {"amz_date": "20240229T000000Z"}, {"token": None}):
        changed = dict(case, **change)
        mine = run_tool(sigv4_tool, [changed])[0]
        assert mine != base
        assert mine == botocore_sign(changed)[0]
    detail = json.loads(run_tool(sigv4_tool, [case], "--json")[0])
    assert f"X-Amz-Date: {case['amz_date']}" in detail["headers"]
    assert "X-Amz-Security-Token: FQoGZXIvYXdzEXAMPLEtoken" in detail["headers"]
    assert detail["headers"][-1] == "Authorization: " + detail["authorization"]


def test_tool_reports_errors(sigv4_tool):
    case = make_cases()[1]
    bad = dict(case, headers={"Host": "elsewhere"}, as_url=False)
    lines = run_tool(sigv4_tool, [bad, case])
    assert lines[0].startswith("ERROR: ") and "host" in lines[0]
    assert not lines[1].startswith("ERROR")
