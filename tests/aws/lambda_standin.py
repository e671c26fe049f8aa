"""A strict AWS Lambda stand-in: the control plane and Invoke API, running functions for real.

What it is for
--------------
faaset's `aws` adapter speaks Lambda's REST API itself (SigV4 signing, polling
for State and LastUpdateStatus, waiting out 409s and 429s). moto accepts far
more than AWS does (no signature check, functions Active at once, no
limits, no execution without Docker), so a test against moto proves little.
This server answers as AWS does (the facts are those of platform-api.md,
"AWS Lambda", that the adapter is written from), refusals included, and runs
the uploaded zip with Python the way Lambda's Python runtime does, so that
an adapter test can deploy, invoke and profile a real faaset package.

    python3 tests/aws/lambda_standin.py --port 0 --port-file FILE
        [--access-key AKID --secret-key SECRET [--session-token T]]
        [--region us-east-1] [--pending-seconds 1.0] [--update-seconds 1.0]
        [--concurrency 10] [--retry-after 1] [--containers process|thread]
        [--state-dir DIR] [--image-registry HOST=URL [--image-credentials USER:PASSWORD]]

It listens on 127.0.0.1 only, writes the bound port to FILE (atomically) once
listening, and exits on SIGTERM / SIGINT after killing its containers.
Without --access-key it accepts AWS's documentation key pair
(AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY).
The account is always 123456789012.

What it checks
--------------
* Every request under /2015-03-31 is SigV4-verified: the Authorization
  header's form, the access key (403 UnrecognizedClientException), the
  credential scope's date, region, service and terminator, X-Amz-Date (the
  SDKs' choice; AWS would also take Date) within 5 minutes of now, the
  session token when --session-token is given (it must be sent and signed),
  and the signature itself, recomputed by botocore's SigV4Auth over the
  headers the client listed in SignedHeaders. The path and query are first
  put in the form the AWS SDKs send (each path segment and query key / value
  percent-encoded with only A-Z a-z 0-9 - _ . ~ left bare), then botocore
  encodes the path once more, which is Lambda's double encoding of a
  function ARN (arn%253Aaws...). A client that sends a raw ':' therefore
  fails here, although real AWS may accept it: encoding as the SDKs do works
  with both. A mismatch's message shows the canonical request and string to
  sign, as AWS's does.
* Input is validated against Lambda's API model as botocore ships it (types;
  required members; enum, length, range and pattern constraints ->
  400 ValidationException with AWS's "N validation errors detected: ..."
  wording), with the limits of standard functions on top (memory 128-10240 MB,
  timeout 1-900 s), then as the service does (400
  InvalidParameterValueException: deprecated runtimes, Runtime and Handler
  for zips, environment variables over 4 KB or using reserved keys, zips
  that do not unzip or exceed 250 MB unzipped, S3 code, which this stand-in
  has no bucket for). Bodies over 69905067 bytes, and payloads over 6 MB
  (1 MB for Event), are 413 RequestEntityTooLargeException (the code AWS
  sends, although its API model names RequestTooLargeException); bodies
  that are not JSON are 400 InvalidRequestContentException.
* States: a new function is Pending for --pending-seconds, then Active; an
  update leaves LastUpdateStatus InProgress for --update-seconds. Updates
  during Pending or InProgress, and invokes during Pending, are 409
  ResourceConflictException; invokes during InProgress run the previous code
  and configuration, as on AWS. RevisionId mismatches are 412. As on AWS,
  ListFunctions shows no State or LastUpdateStatus: only GetFunction does.
* More than --concurrency invocations at once (the account's limit) -> 429
  TooManyRequestsException with Retry-After: --retry-after; Event
  invocations wait for a free slot instead, as Lambda's queue does.

How it runs functions
---------------------
Each upload is unpacked into its own folder (LAMBDA_TASK_ROOT). A container
serves one invocation at a time, stays warm for the next, and is started on
demand when none is idle, so "newcontainer" and "Init Duration" behave as on
Lambda. Containers are replaced when an update takes effect (idle ones at
once, busy ones when their invocation ends) and killed on timeout and on
delete (busy ones when their invocation ends); idle ones are never
reclaimed otherwise. An invocation's log is START, what the function wrote
(on a new container, what it wrote while loading too), the runtime's
[ERROR] lines for an error, END and REPORT (Duration, Billed Duration,
Memory Size, Max Memory Used = the container's peak RSS, Init Duration on a
new container); X-Amz-Log-Result holds its last 4 KB.

* --containers process (default): a container is a Python subprocess of this
  file (--run-container) in its own session, with Lambda's environment
  (AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_LOG_STREAM_NAME, AWS_REGION,
  AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT, _HANDLER, ...; no role credentials),
  its own TMPDIR standing in for Lambda's private /tmp, and RLIMIT_AS set to
  the address space the interpreter already uses plus MemorySize, so that
  exhausting memory is a MemoryError inside the function. (Address space is
  not resident memory: threads reserve stacks and malloc arenas, so a
  function that starts many threads meets the cap sooner than on Lambda.)
  It loads the handler as Lambda's runtime does (Runtime.ImportModuleError,
  Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound, ...) and talks to
  the stand-in in length-prefixed JSON frames over a socket pair; its
  stdout and stderr go to a file that becomes the invocation's log. A
  timeout kills the container's whole process group.
* --containers thread: for benchmarks of 1000+ concurrent invocations, a
  container is a thread of the stand-in itself, and each code version is
  imported once into the stand-in's interpreter. That trades isolation for
  scale: no per-function environment variables (os.environ is shared), no
  memory cap, print() captured per thread but not writes to fd 1 / 2, and a
  timed-out invocation is answered but its thread runs on (the container is
  dropped). Modules the function imports while running resolve to the most
  recently loaded package.

Layers (2018-10-31): PublishLayerVersion unpacks the zip (the same checks as
a function's) into a folder of its own, ListLayers, ListLayerVersions and
GetLayerVersion show them, and a zip function's Layers (at most 5, each an
existing version's ARN, the function and its layers at most 250 MB
unzipped together, as on AWS) are unpacked where its containers find them:
each layer's python/ folder follows LAMBDA_TASK_ROOT on sys.path, as
Lambda's /opt/python does.

GET /_standin/stats (unsigned) returns counters for tests: requests by
operation, errors by code, invocations, peak concurrent invocations, 429s,
409s, signature failures, cold starts, TCP connections accepted. POST /_standin/reset deletes every
function and zeroes the counters. POST /_standin/conflicts?operation=OP&count=N
makes the next N calls of OP (UpdateFunctionCode or
UpdateFunctionConfiguration) lose a race to another client's update: each
is answered AWS's 409 "An update is in progress", the race a client meets
when someone updates the function between its GetFunction and its update. GetFunction's Code.Location points at
GET /_standin/code/<token>, which serves the uploaded zip.

Container images: a function's ImageUri must be an ECR URI, as on AWS. With
--image-registry HOST=URL (the registry that serves HOST's images, over
http, with --image-credentials as Basic auth), CreateFunction and
UpdateFunctionCode pull the image as Lambda does when it optimises one: the
manifest (by tag or digest; an image index's linux/amd64 or arm64 entry,
per Architectures), the config, every layer, unpacked in order into a root
folder of its own (whiteouts applied, nothing outside the folder). An image
that cannot be pulled is Lambda's 400 InvalidParameterValueException
"Source image ... does not exist". Its containers run the image's Cmd[0]
as the handler from its WorkingDir, with the image's PYTHONPATH (its
folders found under the root) after it, and its Env (PATH excepted: the
stand-in's interpreter runs it): the contract of Lambda's Python base
images, whose runtime interface client does the same. Without
--image-registry, image functions can be created but not run.

Not implemented (answered as such): published versions and aliases
(Publish: true is refused; only $LATEST exists), and the other Lambda
operations are 404 UnknownOperationException. Event invocations that fail
are not retried.
"""
import argparse
import base64
import binascii
import bisect
import datetime
import hashlib
import hmac
import http.server
import importlib
import io
import json
import os
import queue
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import types
import urllib.error
import urllib.request
import uuid
import zipfile
from urllib.parse import parse_qs, quote, unquote

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

ACCOUNT = "123456789012"
API_PREFIX = "/2015-03-31/functions"
LAYERS_PREFIX = "/2018-10-31/layers"
LAYER_VERSION_ARN = re.compile(r"arn:aws:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):layer:(?P<name>[a-zA-Z0-9_-]+)"
                               r":(?P<version>\d+)")
MAX_LAYERS = 5
STANDIN_PREFIX = "/_standin/"
DEFAULT_ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
DEFAULT_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

REQUEST_BODY_LIMIT = 69905067          # base64 of a 50 MB zip, plus JSON
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
EVENT_PAYLOAD_LIMIT = 1024 * 1024
RESPONSE_PAYLOAD_LIMIT = 6291556
UNZIPPED_LIMIT = 262144000
ENVIRONMENT_LIMIT = 4096
CLIENT_CONTEXT_LIMIT = 3583
TAIL_LOG_LIMIT = 4096
CLOCK_SKEW = datetime.timedelta(minutes=5)
INIT_TIMEOUT_SECONDS = 10              # Lambda's limit for the init phase
IDLE_CONNECTION_SECONDS = 600
FRAME_LIMIT = 64 * 1024 * 1024         # a container's frames; more means it is broken

# The limits of a standard function, tighter than the API model's (which
# also covers functions on capacity providers).
STANDARD_LIMITS = {"memorySize": {"max": 10240}, "timeout": {"max": 900}}

DEPRECATED_RUNTIMES = {
    "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x",
    "nodejs14.x", "nodejs16.x", "java8", "python2.7", "python3.6", "python3.7", "python3.8",
    "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "go1.x", "ruby2.5",
    "ruby2.7", "provided",
}
RECOMMENDED_PYTHON = "python3.13"

RESERVED_ENVIRONMENT_KEYS = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

ECR_IMAGE_URI = re.compile(
    r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(:[\w.-]{1,128}|@sha256:[0-9a-f]{64})")
FUNCTION_REFERENCE = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?"
    r"((?P<region>[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}):)?"
    r"((?P<account>\d{12}):)?(function:)?(?P<name>[a-zA-Z0-9-_.]+)"
    r"(:(?P<qualifier>\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?")
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                      "Check your AWS Secret Access Key and signing method. "
                      "Consult the service documentation for details.")
CORAL_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.coral.service/"


class ApiError(Exception):
    """An error answer: HTTP status, AWS error code, message, extra body fields and headers.

    `auth` marks errors of the request's authentication, which AWS's front
    end sends with a suffixed x-amzn-ErrorType (clients cut it at ':')."""

    def __init__(self, status, code, message, fields=None, headers=None, auth=False):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.headers = headers or {}
        self.auth = auth

    def body(self):
        # ResourceNotFoundException and ServiceException say "Message".
        message_key = "Message" if self.code in ("ResourceNotFoundException", "ServiceException") else "message"
        kind = "Service" if self.code == "ServiceException" else "User"
        return dict(self.fields, Type=kind, **{message_key: self.message})


def invalid_parameter(message):
    return ApiError(400, "InvalidParameterValueException", message)


def invalid_content(detail):
    return ApiError(400, "InvalidRequestContentException",
                    "Could not parse request body into json: Could not parse payload into json: " + detail)


def conflict(message):
    return ApiError(409, "ResourceConflictException", message)


def function_arn(region, name, qualifier=None):
    arn = "arn:aws:lambda:%s:%s:function:%s" % (region, ACCOUNT, name)
    return arn + ":" + qualifier if qualifier else arn


def aws_timestamp(moment):
    """Lambda's LastModified form: 2024-01-31T12:00:00.000+0000."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + ".%03d+0000" % int(moment % 1 * 1000)


# -- input validation ----------------------------------------------------------

class ModelValidator:
    """Checks an operation's input against Lambda's API model, as the service's
    front end does: wrong JSON types are InvalidRequestContentException, broken
    constraints are collected into one ValidationException."""

    def __init__(self):
        self._model = botocore.session.Session().get_service_model("lambda")

    def check(self, operation, params):
        shape = self._model.operation_model(operation).input_shape
        failures = []
        self._check_structure(shape, params, "", failures)
        if failures:
            raise ApiError(400, "ValidationException", "%d validation error%s detected: %s" % (
                len(failures), "" if len(failures) == 1 else "s", "; ".join(failures)))

    def _check_structure(self, shape, value, path, failures):
        for name in shape.required_members:
            if value.get(name) is None:
                failures.append("Value null at '%s' failed to satisfy constraint: Member must not be null"
                                % _member_path(path, name))
        for name, member in shape.members.items():
            if value.get(name) is not None:
                self._check(member, value[name], _member_path(path, name), failures)

    def _check(self, shape, value, path, failures):
        _check_type(shape, value, path)
        if shape.type_name == "structure":
            self._check_structure(shape, value, path, failures)
            return
        constraints = _constraint_failures(shape, value, STANDARD_LIMITS.get(path, {}))
        if shape.type_name == "list":
            for index, item in enumerate(value):
                _check_type(shape.member, item, "%s.%d" % (path, index + 1))
                if shape.member.type_name == "structure":
                    self._check_structure(shape.member, item, "%s.%d" % (path, index + 1), failures)
                else:
                    constraints += ["Member must satisfy constraint: [%s]" % text
                                    for text in _constraint_failures(shape.member, item)]
        elif shape.type_name == "map":
            for key, item in value.items():
                _check_type(shape.value, item, "%s.%s" % (path, key))
                constraints += ["Map keys must satisfy constraint: [%s]" % text
                                for text in _constraint_failures(shape.key, key)]
                constraints += ["Map value must satisfy constraint: [%s]" % text
                                for text in _constraint_failures(shape.value, item)]
        for text in dict.fromkeys(constraints):  # each distinct failure once, in order
            if shape.metadata.get("sensitive"):
                failures.append("Value at '%s' failed to satisfy constraint: %s" % (path, text))
            else:
                failures.append("Value '%s' at '%s' failed to satisfy constraint: %s"
                                % (_java_text(value), path, text))


def _member_path(path, name):
    member = name[:1].lower() + name[1:]
    return path + "." + member if path else member


_JSON_TYPES = {"string": str, "blob": str, "timestamp": (str, int, float), "boolean": bool,
               "integer": int, "long": int, "float": (int, float), "double": (int, float),
               "structure": dict, "map": dict, "list": list}


def _check_type(shape, value, path):
    expected = _JSON_TYPES[shape.type_name]
    wrong_bool = isinstance(value, bool) and shape.type_name != "boolean"
    if wrong_bool or not isinstance(value, expected):
        raise invalid_content("Cannot deserialize value of type `%s` from %s at '%s'"
                              % (shape.type_name, json.dumps(value)[:100], path))


def _constraint_failures(shape, value, overrides=None):
    limits = dict(shape.metadata, **(overrides or {}))
    failures = []
    if shape.type_name in ("integer", "long"):
        if "min" in limits and value < limits["min"]:
            failures.append("Member must have value greater than or equal to %d" % limits["min"])
        if "max" in limits and value > limits["max"]:
            failures.append("Member must have value less than or equal to %d" % limits["max"])
        return failures
    if shape.type_name in ("string", "list", "map"):
        if "min" in limits and len(value) < limits["min"]:
            failures.append("Member must have length greater than or equal to %d" % limits["min"])
        if "max" in limits and len(value) > limits["max"]:
            failures.append("Member must have length less than or equal to %d" % limits["max"])
    if shape.type_name == "string":
        if "enum" in limits and value not in limits["enum"]:
            failures.append("Member must satisfy enum value set: [%s]" % ", ".join(limits["enum"]))
        if "pattern" in limits and not re.fullmatch(limits["pattern"], value):
            failures.append("Member must satisfy regular expression pattern: %s" % limits["pattern"])
    return failures


def _java_text(value):
    """A value as AWS's Java front end prints it in messages: [a, b], {k=v}."""
    if isinstance(value, list):
        return "[%s]" % ", ".join(_java_text(item) for item in value)
    if isinstance(value, dict):
        return "{%s}" % ", ".join("%s=%s" % (key, _java_text(item)) for key, item in value.items())
    return str(value)


# -- signature verification ------------------------------------------------------

class _SignedHeadersSigV4(SigV4Auth):
    """botocore's signer over exactly the headers on the request: those the
    client listed in SignedHeaders. (botocore's own choice leaves out a few,
    such as user-agent, which a client may legitimately sign.)"""

    def headers_to_sign(self, request):
        headers = HTTPHeaders()
        for name, value in request.headers.items():
            headers[name.lower()] = value
        return headers


def _sdk_form(target):
    """The request target with each path segment and query key / value percent-encoded as the SDKs do."""
    path, _, query = target.partition("?")
    segments = [quote(unquote(segment), safe="-_.~") for segment in path.split("/")]
    pairs = []
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        pairs.append("%s=%s" % (quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "/".join(segments) + ("?" + "&".join(pairs) if pairs else "")


def _header_text(value):
    """A header value as the client sent it: http.server decodes bytes as Latin-1, clients sign UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


class SignatureVerifier:
    """SigV4 verification of Lambda requests, with AWS's error codes and messages."""

    def __init__(self, access_key, secret_key, session_token, region):
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token
        self.region = region

    def verify(self, method, target, headers, body):
        authorization = headers.get("Authorization")
        if not authorization:
            raise ApiError(403, "MissingAuthenticationTokenException", "Missing Authentication Token", auth=True)
        fields = self._authorization_fields(authorization)
        credential = fields["Credential"].split("/")
        if len(credential) != 5:
            raise self._incomplete("Credential should be of the form AKID/YYYYMMDD/REGION/SERVICE/aws4_request, "
                                   "not '%s'." % fields["Credential"], authorization)
        access_key, scope_date, region, service, terminator = credential
        amz_date = headers.get("X-Amz-Date")
        if not amz_date:
            raise self._incomplete("Authorization header requires existence of either a 'X-Amz-Date' or "
                                   "a 'Date' header.", authorization)
        try:
            signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise self._incomplete("Date must be in ISO-8601 'basic format'. Got '%s'. "
                                   "See http://en.wikipedia.org/wiki/ISO_8601" % amz_date, authorization)
        token = headers.get("X-Amz-Security-Token")
        if access_key != self.access_key or token != self.session_token:
            raise ApiError(403, "UnrecognizedClientException",
                           "The security token included in the request is invalid.", auth=True)
        if scope_date != amz_date[:8]:
            raise self._invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                                "date from HTTP: '%s' != '%s', from '%s'." % (scope_date, amz_date[:8], amz_date))
        if region != self.region:
            raise self._invalid("Credential should be scoped to a valid region, not '%s'. "
                                "This endpoint serves '%s'." % (region, self.region))
        if service != "lambda":
            raise self._invalid("Credential should be scoped to correct service: 'lambda'. ")
        if terminator != "aws4_request":
            raise self._invalid("Credential should be scoped with a valid terminator: 'aws4_request', "
                                "not '%s'. " % terminator)
        self._check_clock(signed_at, amz_date)
        signed_names = fields["SignedHeaders"].split(";")
        if "host" not in signed_names:
            raise self._incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
                                   authorization)
        if token is not None and "x-amz-security-token" not in signed_names:
            raise self._invalid("The security token must be signed: list x-amz-security-token in SignedHeaders.")
        claimed_hash = headers.get("X-Amz-Content-SHA256")
        if claimed_hash is not None and claimed_hash != hashlib.sha256(body).hexdigest():
            raise self._invalid("The provided 'x-amz-content-sha256' header does not match what was computed.")
        self._check_signature(method, target, headers, body, signed_names, amz_date, fields["Signature"])

    def _authorization_fields(self, authorization):
        algorithm, _, rest = authorization.partition(" ")
        if algorithm != "AWS4-HMAC-SHA256":
            raise self._incomplete("Unsupported Authorization Type '%s'; Lambda takes AWS4-HMAC-SHA256."
                                   % algorithm, authorization)
        fields = {}
        for part in rest.split(","):
            key, _, value = part.strip().partition("=")
            fields[key] = value
        missing = [name for name in ("Credential", "Signature", "SignedHeaders") if not fields.get(name)]
        if missing:
            raise self._incomplete(" ".join("Authorization header requires '%s' parameter." % name
                                            for name in missing), authorization)
        return fields

    @staticmethod
    def _check_clock(signed_at, amz_date):
        now = datetime.datetime.now(datetime.timezone.utc)
        form = "%Y%m%dT%H%M%SZ"
        if signed_at < now - CLOCK_SKEW:
            raise SignatureVerifier._invalid("Signature expired: %s is now earlier than %s (%s - 5 min.)" % (
                amz_date, (now - CLOCK_SKEW).strftime(form), now.strftime(form)))
        if signed_at > now + CLOCK_SKEW:
            raise SignatureVerifier._invalid("Signature not yet current: %s is still later than %s (%s + 5 min.)" % (
                amz_date, (now + CLOCK_SKEW).strftime(form), now.strftime(form)))

    def _check_signature(self, method, target, headers, body, signed_names, amz_date, signature):
        request = AWSRequest(method=method, url="http://localhost" + _sdk_form(target), data=body)
        for name in signed_names:
            for value in headers.get_all(name) or ():
                request.headers[name] = _header_text(value)  # repeated headers stay repeated
        request.context["timestamp"] = amz_date
        signer = _SignedHeadersSigV4(Credentials(self.access_key, self.secret_key, self.session_token),
                                     "lambda", self.region)
        canonical_request = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical_request)
        expected = signer.signature(string_to_sign, request)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise self._invalid("%s\n\nThe Canonical String for this request should have been\n'%s'\n\n"
                                "The String-to-Sign should have been\n'%s'\n"
                                % (SIGNATURE_MISMATCH, canonical_request, string_to_sign))

    @staticmethod
    def _invalid(message):
        return ApiError(403, "InvalidSignatureException", message, auth=True)

    @staticmethod
    def _incomplete(message, authorization):
        return ApiError(400, "IncompleteSignatureException", "%s Authorization=%s" % (message, authorization),
                        auth=True)


# -- the function runtime (inside a container) -------------------------------------

class LambdaContext:
    """The handler's `context`, with the attributes Lambda's Python runtime gives it."""

    def __init__(self, request_id, deadline_ms, invoked_function_arn, client_context, facts):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = facts["function_name"]
        self.function_version = facts["function_version"]
        self.memory_limit_in_mb = facts["memory_limit_in_mb"]
        self.log_group_name = facts["log_group_name"]
        self.log_stream_name = facts["log_stream_name"]
        self.identity = types.SimpleNamespace(cognito_identity_id=None, cognito_identity_pool_id=None)
        self.client_context = None
        if client_context is not None:
            client = client_context.get("client")
            self.client_context = types.SimpleNamespace(
                client=types.SimpleNamespace(**client) if isinstance(client, dict) else None,
                custom=client_context.get("custom"), env=client_context.get("env"))
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _folder_size(folder):
    return sum(os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(folder) for name in names)


def lambda_error(message, error_type, request_id="", stack_trace=None):
    """The error object of Lambda's Python runtime."""
    return {"errorMessage": message or "", "errorType": error_type or "", "requestId": request_id,
            "stackTrace": stack_trace or []}


def load_handler(handler_name):
    """(handler, None), or (None, init error) the way Lambda's Python runtime reports it.

    A missing function is not an init error on Lambda: every call fails with
    Runtime.HandlerNotFound instead, so that case returns a handler that raises."""
    module_name, dot, function_name = handler_name.rpartition(".")
    if not dot or not module_name:
        return None, lambda_error("Bad handler '%s': not enough values to unpack (expected 2, got 1)"
                                  % handler_name, "Runtime.MalformedHandlerName")
    if module_name.split(".")[0] in sys.builtin_module_names:
        return None, lambda_error("Cannot use built-in module %s as a handler module." % module_name,
                                  "Runtime.BuiltInModuleConflict")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        return None, lambda_error("Unable to import module '%s': %s" % (module_name, error),
                                  "Runtime.ImportModuleError")
    except SyntaxError as error:
        trace = ['  File "%s" Line %s\n    %s' % (error.filename, error.lineno, error.text)]
        return None, lambda_error("Syntax error in module '%s': %s" % (module_name, error),
                                  "Runtime.UserCodeSyntaxError", stack_trace=trace)
    except Exception as error:
        return None, lambda_error(str(error), type(error).__name__,
                                  stack_trace=_user_stack(error.__traceback__))
    handler = getattr(module, function_name, None)
    if handler is None:
        message = "Handler '%s' missing on module '%s'" % (function_name, module_name)

        def missing_handler(event, context):
            raise _HandlerNotFound(message)
        return missing_handler, None
    return handler, None


class _HandlerNotFound(Exception):
    pass


def _user_stack(trace):
    """The traceback's frames from the first one outside this file, as traceback.format_list gives them."""
    frames = traceback.extract_tb(trace)
    while frames and frames[0].filename == __file__:
        frames.pop(0)
    return traceback.format_list(frames)


def call_handler(handler, request, facts, ascii_json):
    """Run one invocation: {"result": JSON text} or {"error": Lambda's error object}.
    FACTS are the container's (function name, memory, log stream, ...: see container_facts)."""
    request_id = request["request_id"]
    context = LambdaContext(request_id, request["deadline_ms"], request["invoked_function_arn"],
                            request["client_context"], facts)
    try:
        result = handler(json.loads(request["event"]), context)
    except _HandlerNotFound as error:
        return {"error": lambda_error(str(error), "Runtime.HandlerNotFound", request_id)}
    except Exception as error:
        stack = _user_stack(error.__traceback__)
        traceback.clear_frames(error.__traceback__)  # let go of what the call held (maybe all the memory)
        return {"error": lambda_error(str(error), type(error).__name__, request_id, stack)}
    try:
        text = json.dumps(result, ensure_ascii=ascii_json)
    except (TypeError, ValueError, RecursionError) as error:
        return {"error": lambda_error("Unable to marshal response: %s" % error, "Runtime.MarshalError", request_id)}
    if len(text.encode("utf-8")) > RESPONSE_PAYLOAD_LIMIT:
        return {"error": {"errorMessage": "Response payload size exceeded maximum allowed payload size (%d bytes)."
                          % RESPONSE_PAYLOAD_LIMIT, "errorType": "Function.ResponseSizeTooLarge"}}
    return {"result": text}


def log_lambda_error(error, stream):
    """Write an error to the function's log as Lambda's runtime does: [ERROR] Type: message, then the trace."""
    lines = ["[ERROR] %s: %s" % (error["errorType"], error["errorMessage"])]
    if error.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        for entry in error["stackTrace"]:
            lines.extend(entry.splitlines())
    stream.write("\n".join(lines) + "\n")
    stream.flush()


def ascii_json_for(runtime):
    """Lambda's Python runtimes before 3.12 escape non-ASCII characters in results; 3.12 and later do not."""
    match = re.fullmatch(r"python3\.(\d+)", runtime or "")
    return not match or int(match.group(1)) < 12


def send_frame(sock, message):
    body = json.dumps(message).encode("utf-8")
    sock.sendall(struct.pack(">I", len(body)) + body)


def receive_frame(sock, deadline=None):
    """The next frame as a dict; None at EOF or if the stream is broken; TimeoutError after DEADLINE (monotonic)."""
    header = _receive_exactly(sock, 4, deadline)
    if header is None:
        return None
    size = struct.unpack(">I", header)[0]
    body = _receive_exactly(sock, size, deadline) if size <= FRAME_LIMIT else None
    try:
        return None if body is None else json.loads(body)
    except ValueError:
        return None


def _receive_exactly(sock, size, deadline):
    data = bytearray()
    while len(data) < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
        try:
            chunk = sock.recv(min(size - len(data), 1 << 20))
        except socket.timeout:
            raise TimeoutError
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def run_container(socket_fd):
    """A process container's main: Lambda's Python runtime loop over a socket instead of the Runtime API."""
    channel = socket.socket(fileno=socket_fd)
    channel.set_inheritable(False)
    sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]  # instead of this file's folder
    layers = os.environ.pop("LAMBDA_STANDIN_LAYERS", "")
    sys.path[1:1] = [path for path in layers.split(os.pathsep) if path]  # Lambda's /opt/python
    _limit_address_space(int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]))
    facts = {
        "function_name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "function_version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
        "memory_limit_in_mb": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
        "log_group_name": os.environ["AWS_LAMBDA_LOG_GROUP_NAME"],
        "log_stream_name": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"],
    }
    ascii_json = ascii_json_for(os.environ["AWS_EXECUTION_ENV"].replace("AWS_Lambda_", ""))
    handler, init_error = load_handler(os.environ["_HANDLER"])
    if init_error is not None:
        log_lambda_error(init_error, sys.stderr)
        send_frame(channel, {"type": "init_error", "error": init_error})
        return 1
    sys.stdout.flush()
    send_frame(channel, {"type": "ready"})
    while True:
        request = receive_frame(channel)
        if request is None:
            return 0
        answer = call_handler(handler, request, facts, ascii_json)
        if "error" in answer:
            log_lambda_error(answer["error"], sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        send_frame(channel, answer)


def _limit_address_space(memory_mb):
    """RLIMIT_AS = the address space the interpreter uses now + MemorySize."""
    with open("/proc/self/status") as status:
        in_use = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    limit = in_use + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


# -- containers -------------------------------------------------------------------------

class Outcome:
    """What one invocation produced: a result (JSON text) or Lambda's error object, the function's
    output, and the figures for the REPORT line. `fatal` means the container is no longer usable."""

    def __init__(self, result=None, error=None, output="", duration_ms=0.0, init_ms=None,
                 max_memory_mb=0, timed_out=False, fatal=False):
        self.result = result
        self.error = error
        self.output = output
        self.duration_ms = duration_ms
        self.init_ms = init_ms
        self.max_memory_mb = max_memory_mb
        self.timed_out = timed_out
        self.fatal = fatal


def _timeout_error(request_id, seconds):
    return {"errorMessage": "RequestId: %s Error: Task timed out after %.2f seconds" % (request_id, seconds),
            "errorType": "Sandbox.Timedout"}


def _exit_error(request_id, returncode):
    if returncode is not None and returncode < 0:
        how = "signal: " + (signal.strsignal(-returncode) or str(-returncode)).lower()
    else:
        how = "exit status %s" % returncode
    return {"errorMessage": "RequestId: %s Error: Runtime exited with error: %s" % (request_id, how),
            "errorType": "Runtime.ExitError"}


def container_facts(deployment, log_stream_name):
    """What a container tells the handler's context about its function."""
    config = deployment.config
    return {
        "function_name": deployment.function_name,
        "function_version": "$LATEST",
        "memory_limit_in_mb": str(config["MemorySize"]),
        "log_group_name": "/aws/lambda/" + deployment.function_name,
        "log_stream_name": log_stream_name,
    }


def _log_stream_name():
    return time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex


class ProcessContainer:
    """A container as a Python subprocess with Lambda's environment (see the module docstring)."""

    def __init__(self, deployment, region, folder):
        self.deployment = deployment
        self.alive = True
        self._region = region
        self._folder = folder
        self._log_path = os.path.join(folder, "log")
        self._process = None
        self._channel = None

    def _environment(self, log_stream_name):
        """Lambda's variables over the function's over the defaults (PATH, LANG, TZ, TMPDIR), as on Lambda."""
        config = self.deployment.config
        environment = {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "en_US.UTF-8",
                       "TZ": ":UTC", "TMPDIR": os.path.join(self._folder, "tmp")}
        environment.update(self.deployment.image_env)
        environment.update(config.get("Environment", {}).get("Variables", {}))
        environment.update({
            "_HANDLER": self.deployment.handler,
            "AWS_REGION": self._region,
            "AWS_DEFAULT_REGION": self._region,
            "AWS_EXECUTION_ENV": "AWS_Lambda_" + self.deployment.runtime,
            "AWS_LAMBDA_FUNCTION_NAME": self.deployment.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config["MemorySize"]),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + self.deployment.function_name,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
            "LAMBDA_TASK_ROOT": self.deployment.code.folder,
            "LAMBDA_STANDIN_LAYERS": os.pathsep.join(self.deployment.layer_paths),
            "LAMBDA_RUNTIME_DIR": os.path.dirname(os.path.abspath(__file__)),
        })
        return environment

    def _start(self):
        """Spawn and initialise; (init ms, None) or (init ms, Outcome of the failed init)."""
        started = time.monotonic()
        os.makedirs(os.path.join(self._folder, "tmp"), exist_ok=True)
        ours, theirs = socket.socketpair()
        with open(self._log_path, "ab") as log:
            try:
                self._process = subprocess.Popen(
                    [sys.executable, "-u", os.path.abspath(__file__), "--run-container", str(theirs.fileno())],
                    env=self._environment(_log_stream_name()), cwd=self.deployment.code.folder,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(theirs.fileno(),), start_new_session=True)
            finally:
                theirs.close()
        self._channel = ours
        try:
            reply = receive_frame(ours, time.monotonic() + INIT_TIMEOUT_SECONDS)
        except TimeoutError:
            reply = {"type": "init_error", "error": _timeout_error("", INIT_TIMEOUT_SECONDS)}
        init_ms = (time.monotonic() - started) * 1000
        if reply is not None and reply.get("type") == "ready":
            return init_ms, None
        if reply is None:
            self._kill()
            reply = {"type": "init_error", "error": _exit_error("", self._process.returncode)}
        self.close()
        return init_ms, Outcome(error=reply["error"], init_ms=init_ms, fatal=True)

    def invoke(self, request):
        init_ms = None
        if self._process is None:
            init_ms, failed = self._start()
            if failed is not None:
                failed.output = self._take_output()
                return failed
        timeout = self.deployment.config["Timeout"]
        started = time.monotonic()
        try:
            self._channel.settimeout(None)  # receive_frame left the last deadline's timeout on it
            send_frame(self._channel, request)
            reply = receive_frame(self._channel, started + timeout)
        except TimeoutError:
            outcome = Outcome(error=_timeout_error(request["request_id"], timeout), timed_out=True, fatal=True)
        except OSError:  # the process is gone
            reply = None
        else:
            outcome = None if reply is None else Outcome(result=reply.get("result"), error=reply.get("error"))
        if outcome is None:
            self._kill()  # reaps it; kills it first if it only closed its end
            outcome = Outcome(error=_exit_error(request["request_id"], self._process.returncode), fatal=True)
        outcome.max_memory_mb = self._peak_memory_mb()
        if outcome.fatal:
            self.close()
        outcome.duration_ms = (time.monotonic() - started) * 1000
        outcome.init_ms = init_ms
        outcome.output = self._take_output()
        return outcome

    def _peak_memory_mb(self):
        """The process's peak resident memory (0 once it is gone: Lambda's Max Memory Used)."""
        try:
            with open("/proc/%d/status" % self._process.pid) as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) // 1024
        except OSError:
            pass
        return 0

    def _take_output(self):
        """The log file's text since the last call (the container is idle: nothing writes to it now)."""
        try:
            with open(self._log_path, "r+b") as log:
                text = log.read().decode("utf-8", "replace")
                log.truncate(0)
            return text
        except OSError:
            return ""

    def _kill(self):
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._process.wait()

    def close(self):
        """Kill the process group and remove the container's folder, keeping the log for the last answer."""
        self.alive = False
        if self._process is not None:
            self._kill()
            self._channel.close()
        shutil.rmtree(os.path.join(self._folder, "tmp"), ignore_errors=True)

    def discard(self):
        self.close()
        shutil.rmtree(self._folder, ignore_errors=True)


class _ThreadOutput(io.TextIOBase):
    """sys.stdout / sys.stderr in thread mode: writes from a container thread go to its invocation's output."""

    local = threading.local()

    def __init__(self, original):
        super().__init__()
        self._original = original

    def writable(self):
        return True

    def write(self, text):
        captured = getattr(self.local, "captured", None)
        if captured is None:
            return self._original.write(text)
        captured.append(text)
        return len(text)

    def flush(self):
        self._original.flush()


class InProcessPackages:
    """Thread mode's code loading: each code version imported once into this interpreter."""

    def __init__(self, functions_root):
        self._functions_root = functions_root
        self._lock = threading.Lock()
        self._loaded = {}  # (folder, handler name) -> (handler, init error)

    def load(self, folder, handler_name, layer_paths=()):
        """(handler, None) or (None, init error), importing the package the first time only."""
        with self._lock:
            key = (folder, handler_name)
            if key not in self._loaded:
                if not isinstance(sys.stdout, _ThreadOutput):
                    sys.stdout, sys.stderr = _ThreadOutput(sys.stdout), _ThreadOutput(sys.stderr)
                # The latest package's modules win: drop other packages' from sys.modules and sys.path.
                for name, module in list(sys.modules.items()):
                    if (getattr(module, "__file__", None) or "").startswith(self._functions_root):
                        del sys.modules[name]
                sys.path[:] = [folder] + list(layer_paths) + [
                    entry for entry in sys.path if not entry.startswith(self._functions_root) and entry not in layer_paths]
                self._loaded[key] = load_handler(handler_name)
            return self._loaded[key]


class ThreadContainer:
    """A container as a thread of the stand-in (see the module docstring)."""

    def __init__(self, deployment, packages):
        self.deployment = deployment
        self.alive = True
        self._packages = packages
        self._facts = container_facts(deployment, _log_stream_name())
        self._ascii_json = ascii_json_for(deployment.runtime)
        self._inbox = queue.Queue()
        self._handler = None
        threading.Thread(target=self._serve, daemon=True, name="container-" + deployment.function_name).start()

    def _serve(self):
        while True:
            item = self._inbox.get()
            if item is None:
                return
            request, answer = item
            _ThreadOutput.local.captured = captured = []
            try:
                result = call_handler(self._handler, request, self._facts, self._ascii_json)
            except SystemExit as error:  # in a process container the runtime would exit: so does this one
                self.close()
                status = error.code if isinstance(error.code, int) else int(error.code is not None)
                result = {"error": _exit_error(request["request_id"], status)}
            finally:
                _ThreadOutput.local.captured = None
            if "error" in result:
                captured.append("[ERROR] %s: %s\n" % (result["error"]["errorType"], result["error"]["errorMessage"]))
            answer.put((result, "".join(captured)))

    def invoke(self, request):
        init_ms = None
        if self._handler is None:
            loading = time.monotonic()
            self._handler, init_error = self._packages.load(self.deployment.code.folder,
                                                            self.deployment.handler,
                                                            self.deployment.layer_paths)
            init_ms = (time.monotonic() - loading) * 1000
            if init_error is not None:
                self.close()
                return Outcome(error=init_error, init_ms=init_ms, fatal=True,
                               output="[ERROR] %s: %s\n" % (init_error["errorType"], init_error["errorMessage"]))
        timeout = self.deployment.config["Timeout"]
        started = time.monotonic()
        answer = queue.Queue()
        self._inbox.put((request, answer))
        memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # the stand-in's: shared by all
        try:
            result, output = answer.get(timeout=timeout)
        except queue.Empty:
            self.close()  # the thread finishes the call, then ends
            outcome = Outcome(error=_timeout_error(request["request_id"], timeout), timed_out=True, fatal=True,
                              max_memory_mb=memory)
        else:
            outcome = Outcome(result=result.get("result"), error=result.get("error"), output=output,
                              max_memory_mb=memory)
        outcome.duration_ms = (time.monotonic() - started) * 1000
        outcome.init_ms = init_ms
        return outcome

    def close(self):
        if self.alive:
            self.alive = False
            self._inbox.put(None)

    discard = close


# -- functions and the service ------------------------------------------------------------

class CodeVersion:
    """An uploaded zip: where it is unpacked, its size and SHA-256."""

    def __init__(self, folder, data):
        self.folder = folder
        self.size = len(data)
        self.sha256 = base64.b64encode(hashlib.sha256(data).digest()).decode()
        self.token = uuid.uuid4().hex  # names it in Code.Location


class ImageCode:
    """A pulled container image: its root folder and what its config tells the runtime."""

    def __init__(self, root, config):
        settings = config.get("config") or {}
        self.root = root
        self.folder = os.path.join(root, (settings.get("WorkingDir") or "/").lstrip("/"))
        self.handler = (settings.get("Cmd") or [""])[0]
        self.env = {}
        self.paths = []
        for entry in settings.get("Env") or []:
            key, _, value = entry.partition("=")
            if key == "PYTHONPATH":
                self.paths = [os.path.join(root, path.lstrip("/")) for path in value.split(":") if path]
            elif key != "PATH":
                self.env[key] = value


class Deployment:
    """What invocations run: a snapshot of a function's configuration and code (a zip's, or an image's:
    its handler is the image's Cmd, its runtime the stand-in's Python, its Python path the image's)."""

    def __init__(self, function_name, config, code, layer_folders=()):
        self.function_name = function_name
        self.config = json.loads(json.dumps(config))  # a deep copy: later updates do not reach it
        self.code = code
        self.layer_paths = [os.path.join(folder, "python") for folder in layer_folders]  # after the task root
        image = isinstance(code, ImageCode)
        self.handler = code.handler if image else config.get("Handler")
        self.runtime = "python%d.%d" % sys.version_info[:2] if image else config.get("Runtime", "")
        self.image_env = code.env if image else {}
        if image:
            self.layer_paths = [path for path in code.paths if path != code.folder]


def _unpack_layer(blob, root):
    """One image layer (a tar, gzip'd or not) over ROOT: whiteouts (.wh.NAME) remove NAME, nothing lands
    outside ROOT, links and devices are skipped."""
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tar:
        for member in tar.getmembers():
            name = os.path.normpath(member.name.lstrip("/"))
            if name.startswith("..") or os.path.isabs(name):
                raise tarfile.TarError("%s escapes the image root" % member.name)
            folder, base_name = os.path.split(name)
            if base_name.startswith(".wh."):
                target = os.path.join(root, folder, base_name[4:])
                if os.path.isdir(target) and not os.path.islink(target):
                    shutil.rmtree(target)
                elif os.path.lexists(target):
                    os.remove(target)
                continue
            path = os.path.join(root, name)
            if member.isdir():
                os.makedirs(path, exist_ok=True)
            elif member.isfile():
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with tar.extractfile(member) as source, open(path, "wb") as target:
                    shutil.copyfileobj(source, target)
                os.chmod(path, member.mode & 0o755 | 0o600)


class LayerVersion:
    """A published layer version: where it is unpacked, and what the API shows of it."""

    def __init__(self, arn, version, folder, data, body, now):
        self.arn = arn
        self.folder = folder
        self.size = len(data)
        self.description = {
            "LayerArn": arn.rsplit(":", 1)[0], "LayerVersionArn": arn, "Version": version,
            "Description": body.get("Description", ""), "CreatedDate": aws_timestamp(now),
            "CompatibleRuntimes": body.get("CompatibleRuntimes", []),
            "CompatibleArchitectures": body.get("CompatibleArchitectures", []),
        }
        self.content = {"CodeSha256": base64.b64encode(hashlib.sha256(data).digest()).decode(), "CodeSize": len(data)}


class Function:
    """A function's $LATEST configuration as the API shows it, its state, and its containers."""

    def __init__(self, name, folder, config, code, tags, active_at, layer_folders=()):
        self.name = name
        self.folder = folder
        self.config = config
        self.code = code
        self.tags = tags
        self.state = "Pending"
        self.active_at = active_at
        self.update_status = None
        self.update_done_at = None
        self.deployment = Deployment(name, config, code, layer_folders)
        self.idle = []
        self.containers = set()
        self.deleted = False


class Invocation:
    """One invocation's request to a container, plus what the response needs."""

    def __init__(self, request_id, event_text, invoked_arn, client_context):
        self.request_id = request_id
        self.frame = {"request_id": request_id, "event": event_text, "invoked_function_arn": invoked_arn,
                      "client_context": client_context, "deadline_ms": 0}


class LambdaService:
    """The functions, their state machine, containers and counters; the operations' semantics."""

    def __init__(self, options):
        self.region = options.region
        self.pending_seconds = options.pending_seconds
        self.update_seconds = options.update_seconds
        self.concurrency = options.concurrency
        self.retry_after = options.retry_after
        self.containers_mode = options.containers
        self.state_dir = options.state_dir
        self.image_registries = dict(entry.split("=", 1) for entry in options.image_registry or [])
        self.image_credentials = options.image_credentials
        self.functions_root = os.path.join(self.state_dir, "functions")
        os.makedirs(self.functions_root, exist_ok=True)
        self.packages = InProcessPackages(self.functions_root)
        self.validator = ModelValidator()
        self.lock = threading.Lock()
        self.slot_freed = threading.Condition(self.lock)
        self.functions = {}
        self.layers = {}  # name -> [LayerVersion], oldest first
        self.code_files = {}
        self.running = 0
        self.injected_conflicts = {}
        self._reset_counters()

    def _reset_counters(self):
        self.stats = {"requests": {}, "errors": {}, "invocations": 0, "event_invocations": 0, "cold_starts": 0,
                      "concurrent_invocations": 0, "peak_concurrent_invocations": 0, "throttled_429": 0,
                      "conflicts_409": 0, "signature_failures": 0, "connections": 0}

    # -- counters

    def count_connection(self):
        with self.lock:
            self.stats["connections"] += 1

    def count_request(self, operation):
        with self.lock:
            self.stats["requests"][operation] = self.stats["requests"].get(operation, 0) + 1

    def count_error(self, error):
        with self.lock:
            self.stats["errors"][error.code] = self.stats["errors"].get(error.code, 0) + 1
            self.stats["throttled_429"] += error.status == 429
            self.stats["conflicts_409"] += error.status == 409
            self.stats["signature_failures"] += error.auth

    def snapshot_stats(self):
        with self.lock:
            stats = json.loads(json.dumps(self.stats))
            stats["concurrent_invocations"] = self.running
            stats["functions"] = len(self.functions)
            stats["containers"] = sum(len(function.containers) for function in self.functions.values())
            return stats

    def reset(self):
        with self.lock:
            for function in list(self.functions.values()):
                self._remove(function)
            self._reset_counters()

    def shutdown(self):
        with self.lock:
            for function in list(self.functions.values()):
                self._remove(function)
                for container in list(function.containers):
                    container.discard()

    # -- naming

    def resolve(self, reference, qualifier):
        """(function, qualifier) for a name, partial or full ARN (the model's pattern, which
        FUNCTION_REFERENCE mirrors, has been checked), or 404 / 400. Lock held."""
        match = FUNCTION_REFERENCE.fullmatch(reference)
        derived = match.group("qualifier")
        if derived and qualifier and derived != qualifier:
            raise invalid_parameter("The derived qualifier from the function name does not match the specified "
                                    "qualifier.")
        qualifier = qualifier or derived
        name = match.group("name")
        region = match.group("region") or self.region
        account = match.group("account") or ACCOUNT
        function = self.functions.get(name)
        if function is None or region != self.region or account != ACCOUNT or qualifier not in (None, "$LATEST"):
            arn = "arn:aws:lambda:%s:%s:function:%s%s" % (region, account, name, ":" + qualifier if qualifier else "")
            raise ApiError(404, "ResourceNotFoundException", "Function not found: " + arn)
        self._advance(function)
        return function, qualifier

    # -- the state machine

    def _advance(self, function):
        """Apply what time has done: Pending -> Active, InProgress -> Successful (the update takes effect)."""
        now = time.monotonic()
        if function.state == "Pending" and now >= function.active_at:
            function.state = "Active"
            function.update_status = "Successful"
            function.config["RevisionId"] = str(uuid.uuid4())
        if function.update_status == "InProgress" and now >= function.update_done_at:
            function.update_status = "Successful"
            function.config["RevisionId"] = str(uuid.uuid4())
            function.deployment = Deployment(function.name, function.config, function.code,
                                             self._layer_folders(function.config))
            for container in function.idle:
                container.discard()
            function.containers.difference_update(function.idle)
            function.idle = []

    def _begin_update(self, function, revision_id):
        arn = function_arn(self.region, function.name)
        if function.state == "Pending":
            raise conflict("The operation cannot be performed at this time. The resource %s is currently in "
                           "the following state: 'Pending'. StateReasonCode: 'Creating'" % arn)
        if function.update_status == "InProgress":
            raise conflict("The operation cannot be performed at this time. "
                           "An update is in progress for resource: " + arn)
        if revision_id is not None and revision_id != function.config["RevisionId"]:
            raise ApiError(412, "PreconditionFailedException",
                           "The Revision Id provided does not match the latest Revision Id. "
                           "Call the GetFunction/GetAlias API to retrieve the latest Revision Id")

    def _mark_updating(self, function):
        function.update_status = "InProgress"
        function.update_done_at = time.monotonic() + self.update_seconds
        function.config["LastModified"] = aws_timestamp(time.time())
        function.config["RevisionId"] = str(uuid.uuid4())

    def configuration(self, function, listing=False):
        """The FunctionConfiguration AWS returns. ListFunctions leaves out the state fields, as AWS's does
        (callers must use GetFunction for them)."""
        config = dict(function.config, FunctionName=function.name,
                      FunctionArn=function_arn(self.region, function.name), Version="$LATEST",
                      TracingConfig={"Mode": "PassThrough"},
                      LoggingConfig={"LogFormat": "Text", "LogGroup": "/aws/lambda/" + function.name})
        if listing:
            return config
        config["State"] = function.state
        if function.state == "Pending":
            config.update(StateReason="The function is being created.", StateReasonCode="Creating")
        if function.update_status:
            config["LastUpdateStatus"] = function.update_status
        if function.update_status == "InProgress":
            config.update(LastUpdateStatusReason="The function is being created.",
                          LastUpdateStatusReasonCode="Creating")
        return config

    # -- code

    def _store_code(self, function_folder, body):
        """Unpack Code.ZipFile into a new folder: a CodeVersion, or 400 as AWS answers a bad zip."""
        try:
            data = base64.b64decode(body["ZipFile"], validate=True)
        except (binascii.Error, ValueError) as error:
            raise invalid_content("Failed to decode VALUE_STRING as base64 (MIME-NO-LINEFEEDS): %s" % error)
        unreadable = invalid_parameter("Could not unzip uploaded file. Please check your file, "
                                       "then try to upload again.")
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            unzipped_size = sum(entry.file_size for entry in archive.infolist())
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
            raise unreadable
        if unzipped_size > UNZIPPED_LIMIT:
            raise invalid_parameter("Unzipped size must be smaller than %d bytes" % UNZIPPED_LIMIT)
        folder = os.path.join(function_folder, "code-" + uuid.uuid4().hex)
        try:
            archive.extractall(folder)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, EOFError, OSError):
            shutil.rmtree(folder, ignore_errors=True)
            raise unreadable
        zip_path = folder + ".zip"
        with open(zip_path, "wb") as saved:
            saved.write(data)
        code = CodeVersion(folder, data)
        with self.lock:
            self.code_files[code.token] = zip_path
        return code

    # -- container images

    def _registry_get(self, url, accept=None):
        request = urllib.request.Request(url)
        if accept:
            request.add_header("Accept", accept)
        if self.image_credentials:
            request.add_header("Authorization", "Basic " + base64.b64encode(self.image_credentials.encode()).decode())
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.read()

    def _pull_image(self, function_folder, uri, architecture):
        """The image URI names, pulled and unpacked (see the module docstring): an ImageCode, None when no
        registry serves its host, or 400 as Lambda answers an image it cannot get."""
        host, _, rest = uri.partition("/")
        if host not in self.image_registries:
            return None
        base = self.image_registries[host].rstrip("/")
        repository, reference = (rest.split("@", 1) if "@" in rest else rest.rsplit(":", 1))
        accept = ", ".join(("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                            "application/vnd.docker.distribution.manifest.v2+json",
                            "application/vnd.docker.distribution.manifest.list.v2+json"))
        missing = invalid_parameter("Source image %s does not exist. Provide a valid source image." % uri)
        try:
            manifest = json.loads(self._registry_get("%s/v2/%s/manifests/%s" % (base, repository, reference), accept))
            if "manifests" in manifest:
                wanted = "arm64" if architecture == "arm64" else "amd64"
                entry = next(m for m in manifest["manifests"]
                             if (m.get("platform") or {}).get("architecture") == wanted)
                manifest = json.loads(self._registry_get("%s/v2/%s/manifests/%s" % (base, repository,
                                                                                     entry["digest"]), accept))
            config = json.loads(self._registry_get("%s/v2/%s/blobs/%s" % (base, repository,
                                                                          manifest["config"]["digest"])))
            root = os.path.join(function_folder, "image-" + uuid.uuid4().hex)
            os.makedirs(root)
            for layer in manifest["layers"]:
                blob = self._registry_get("%s/v2/%s/blobs/%s" % (base, repository, layer["digest"]))
                if "sha256:" + hashlib.sha256(blob).hexdigest() != layer["digest"]:
                    raise missing
                _unpack_layer(blob, root)
        except (urllib.error.URLError, OSError, ValueError, KeyError, StopIteration, tarfile.TarError):
            raise missing
        return ImageCode(root, config)

    # -- layers

    def publish_layer_version(self, body):
        """PublishLayerVersion: Content.ZipFile unpacked into the layer version's own folder."""
        name = body["LayerName"]
        content = body.get("Content") or {}
        if content.get("S3Bucket") or content.get("S3Key"):
            raise invalid_parameter("Error occurred while GetObject. S3 Error Code: NoSuchBucket. "
                                    "S3 Error Message: The specified bucket does not exist")
        if content.get("ZipFile") is None:
            raise invalid_parameter("Please provide a source for the layer content.")
        folder = os.path.join(self.state_dir, "layers", uuid.uuid4().hex)
        os.makedirs(folder)
        code = self._store_code(folder, content)
        with self.lock:
            versions = self.layers.setdefault(name, [])
            number = len(versions) + 1
            arn = "arn:aws:lambda:%s:%s:layer:%s:%d" % (self.region, ACCOUNT, name, number)
            with open(self.code_files[code.token], "rb") as saved:
                layer = LayerVersion(arn, number, code.folder, saved.read(), body, time.time())
            versions.append(layer)
            self.stats["layers_published"] = self.stats.get("layers_published", 0) + 1
            answer = dict(layer.description, Content=dict(layer.content))
        return answer

    def list_layers(self):
        with self.lock:
            return {"Layers": [{"LayerName": name, "LayerArn": versions[-1].description["LayerArn"],
                                "LatestMatchingVersion": dict(versions[-1].description)}
                               for name, versions in sorted(self.layers.items())]}

    def list_layer_versions(self, name):
        with self.lock:
            versions = self.layers.get(name, [])
            return {"LayerVersions": [dict(v.description) for v in reversed(versions)]}

    def get_layer_version(self, name, number):
        with self.lock:
            versions = self.layers.get(name, [])
            if not number.isdigit() or not 1 <= int(number) <= len(versions):
                raise ApiError(404, "ResourceNotFoundException", "The resource you requested does not exist.")
            layer = versions[int(number) - 1]
            return dict(layer.description, Content=dict(layer.content))

    def _layer(self, arn):
        """The LayerVersion an ARN names (lock held), or 400 as Lambda answers an unknown one."""
        match = LAYER_VERSION_ARN.fullmatch(arn or "")
        versions = self.layers.get(match.group("name"), []) if match else []
        if (not match or match.group("region") != self.region or match.group("account") != ACCOUNT
                or not 1 <= int(match.group("version")) <= len(versions)):
            raise invalid_parameter("Layer version %s does not exist." % arn)
        return versions[int(match.group("version")) - 1]

    def _layers_config(self, arns, code_size):
        """Config's Layers for ARNS (lock held): each must exist, at most 5, and with the code at most
        250 MB unzipped."""
        if len(arns) > MAX_LAYERS:
            raise invalid_parameter("Cannot reference more than %d layers." % MAX_LAYERS)
        layers = [self._layer(arn) for arn in arns]
        unzipped = code_size + sum(_folder_size(layer.folder) for layer in layers)
        if unzipped > UNZIPPED_LIMIT:
            raise invalid_parameter("Function code combined with layers exceeds the maximum allowed size of %d "
                                    "bytes. The actual size is %d bytes." % (UNZIPPED_LIMIT, unzipped))
        return [{"Arn": layer.arn, "CodeSize": layer.size} for layer in layers]

    def _layer_folders(self, config):
        """The folders of CONFIG's layers (lock held)."""
        return [self._layer(layer["Arn"]).folder for layer in config.get("Layers", [])]

    @staticmethod
    def _check_code_source(code, package_type, creating):
        """The code fields must name exactly one source, the one the package type takes."""
        verb = "creating" if creating else "updating"
        if code.get("S3Bucket") or code.get("S3Key"):
            raise invalid_parameter("Error occurred while GetObject. S3 Error Code: NoSuchBucket. "
                                    "S3 Error Message: The specified bucket does not exist")
        if package_type == "Image":
            if code.get("ZipFile") is not None:
                raise invalid_parameter("Please don't provide ZipFile when %s a function with packageType Image."
                                        % verb)
            if not code.get("ImageUri"):
                raise invalid_parameter("Please provide ImageUri when %s a function with packageType Image." % verb)
            if not ECR_IMAGE_URI.fullmatch(code["ImageUri"]):
                raise invalid_parameter("Source image %s is not valid. Provide a valid source image."
                                        % code["ImageUri"])
        else:
            if code.get("ImageUri"):
                raise invalid_parameter("Please don't provide ImageUri when %s a function with packageType Zip."
                                        % verb)
            if code.get("ZipFile") is None:
                raise invalid_parameter("Please provide a source for function code.")

    # -- configuration checks the service makes beyond the model

    def _check_configuration(self, config):
        runtime = config.get("Runtime")
        if runtime in DEPRECATED_RUNTIMES:
            raise invalid_parameter(
                "The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. "
                "We recommend you use the new runtime (%s) while creating or updating functions."
                % (runtime, RECOMMENDED_PYTHON))
        variables = config.get("Environment", {}).get("Variables") or {}
        reserved = sorted(key for key in variables if key in RESERVED_ENVIRONMENT_KEYS)
        if reserved:
            raise invalid_parameter(
                "Lambda was unable to configure your environment variables because the environment variables you "
                "have provided contains reserved keys that are currently not supported for modification. "
                "Reserved keys used in this request: %s" % ", ".join(reserved))
        measured = json.dumps(variables, separators=(",", ":"), ensure_ascii=False)
        if len(measured.encode("utf-8")) > ENVIRONMENT_LIMIT:
            raise invalid_parameter(
                "Lambda was unable to configure your environment variables because the environment variables you "
                "have provided exceeded the 4KB limit. String measured: %s" % measured)

    # -- operations

    def create_function(self, body):
        """CreateFunction, for a body the API model accepts."""
        name_match = FUNCTION_REFERENCE.fullmatch(body["FunctionName"])
        name = name_match.group("name")
        if len(name) > 64:
            raise ApiError(400, "ValidationException", "1 validation error detected: Value '%s' at 'functionName' "
                           "failed to satisfy constraint: Member must have length less than or equal to 64" % name)
        if name_match.group("qualifier"):
            raise invalid_parameter("Unsupported qualifier in function name for CreateFunction: %s"
                                    % body["FunctionName"])
        if name_match.group("region") not in (None, self.region) or name_match.group("account") not in (None, ACCOUNT):
            raise invalid_parameter("The function ARN %s names another region or account than this endpoint's "
                                    "(%s, %s)." % (body["FunctionName"], self.region, ACCOUNT))
        if body.get("Publish"):
            raise invalid_parameter("Publish is not supported by this stand-in: it keeps only $LATEST.")
        package_type = body.get("PackageType", "Zip")
        if package_type == "Zip" and (not body.get("Runtime") or not body.get("Handler")):
            raise invalid_parameter("Runtime and Handler are mandatory parameters for functions created with "
                                    "deployment packages.")
        self._check_code_source(body["Code"], package_type, creating=True)
        self._check_configuration(body)
        with self.lock:
            if name in self.functions:
                raise conflict("Function already exist: %s" % name)
        folder = os.path.join(self.functions_root, uuid.uuid4().hex)
        os.makedirs(folder)
        code = (self._store_code(folder, body["Code"]) if package_type == "Zip"
                else self._pull_image(folder, body["Code"]["ImageUri"], body.get("Architectures", ["x86_64"])[0]))
        now = time.time()
        config = {
            "Role": body["Role"], "Description": body.get("Description", ""),
            "Timeout": body.get("Timeout", 3), "MemorySize": body.get("MemorySize", 128),
            "LastModified": aws_timestamp(now), "RevisionId": str(uuid.uuid4()), "PackageType": package_type,
            "Architectures": body.get("Architectures", ["x86_64"]),
            "EphemeralStorage": {"Size": body.get("EphemeralStorage", {}).get("Size", 512)},
        }
        if package_type == "Zip":
            config.update(Runtime=body["Runtime"], Handler=body["Handler"], CodeSize=code.size,
                          CodeSha256=code.sha256)
        else:
            config.update(CodeSize=0, CodeSha256=base64.b64encode(hashlib.sha256(
                body["Code"]["ImageUri"].encode()).digest()).decode(), ImageUri=body["Code"]["ImageUri"])
        if body.get("Environment", {}).get("Variables") is not None:
            config["Environment"] = {"Variables": body["Environment"]["Variables"]}
        layer_folders = []
        if body.get("Layers"):
            with self.lock:
                config["Layers"] = self._layers_config(body["Layers"], _folder_size(code.folder) if code else 0)
                layer_folders = [self._layer(arn).folder for arn in body["Layers"]]
        function = Function(name, folder, config, code, body.get("Tags") or {},
                            time.monotonic() + self.pending_seconds, layer_folders)
        with self.lock:
            if name in self.functions:  # created meanwhile by a concurrent request
                shutil.rmtree(folder, ignore_errors=True)
                raise conflict("Function already exist: %s" % name)
            self.functions[name] = function
            return self.configuration(function)

    def get_function(self, reference, qualifier, host):
        with self.lock:
            function, _ = self.resolve(reference, qualifier)
            answer = {"Configuration": self.configuration(function)}
            if function.config["PackageType"] == "Image":
                answer["Code"] = {"RepositoryType": "ECR", "ImageUri": function.config["ImageUri"]}
            else:
                answer["Code"] = {"RepositoryType": "S3",
                                  "Location": "http://%s%scode/%s" % (host, STANDIN_PREFIX, function.code.token)}
            if function.tags:
                answer["Tags"] = function.tags
            return answer

    def get_configuration(self, reference, qualifier):
        with self.lock:
            function, _ = self.resolve(reference, qualifier)
            return self.configuration(function)

    def update_code(self, reference, body):
        if body.get("Publish"):
            raise invalid_parameter("Publish is not supported by this stand-in: it keeps only $LATEST.")
        with self.lock:
            function, _ = self.resolve(reference, None)
            self._begin_update(function, body.get("RevisionId"))
            package_type, folder = function.config["PackageType"], function.folder
        self._check_code_source(body, package_type, creating=False)
        code = (self._store_code(folder, body) if package_type == "Zip"
                else self._pull_image(folder, body["ImageUri"], (body.get("Architectures") or ["x86_64"])[0]))
        with self.lock:
            function, _ = self.resolve(reference, None)
            self._begin_update(function, body.get("RevisionId"))  # again: another update may have begun
            if body.get("DryRun"):
                return self.configuration(function)
            function.code = code
            if package_type == "Zip":
                function.config.update(CodeSize=code.size, CodeSha256=code.sha256)
            else:
                function.config.update(ImageUri=body["ImageUri"], CodeSha256=base64.b64encode(
                    hashlib.sha256(body["ImageUri"].encode()).digest()).decode())
            if body.get("Architectures"):
                function.config["Architectures"] = body["Architectures"]
            self._mark_updating(function)
            return self.configuration(function)

    def update_configuration(self, reference, body):
        self._check_configuration(body)
        with self.lock:
            function, _ = self.resolve(reference, None)
            self._begin_update(function, body.get("RevisionId"))
            for field in ("Role", "Handler", "Description", "Timeout", "MemorySize", "Runtime"):
                if field in body:
                    function.config[field] = body[field]
            if "Environment" in body:
                function.config["Environment"] = {"Variables": body["Environment"].get("Variables") or {}}
            if "EphemeralStorage" in body:
                function.config["EphemeralStorage"] = {"Size": body["EphemeralStorage"]["Size"]}
            if "Layers" in body:
                if function.config["PackageType"] == "Image":
                    raise invalid_parameter("Layers are not supported for functions with packageType Image.")
                layers = self._layers_config(body["Layers"], _folder_size(function.code.folder))
                if layers:
                    function.config["Layers"] = layers
                else:
                    function.config.pop("Layers", None)
            self._mark_updating(function)
            return self.configuration(function)

    def delete_function(self, reference, qualifier):
        with self.lock:
            function, qualifier = self.resolve(reference, qualifier)
            if qualifier == "$LATEST":
                raise invalid_parameter("$LATEST version cannot be deleted without deleting the function.")
            self._remove(function)

    def _remove(self, function):
        """Forget a function (lock held): idle containers go now, busy ones when their invocation ends."""
        function.deleted = True
        del self.functions[function.name]
        for container in function.idle:
            container.discard()
        function.containers.difference_update(function.idle)
        function.idle = []

    def list_functions(self, marker, max_items):
        with self.lock:
            names = sorted(self.functions)
            start = 0
            if marker:
                try:
                    start = bisect.bisect_left(names, base64.urlsafe_b64decode(marker.encode()).decode())
                except (ValueError, binascii.Error, UnicodeError):
                    raise invalid_parameter("Invalid marker: %s" % marker)
            page = names[start:start + max_items]
            answer = {"Functions": []}
            for name in page:
                function = self.functions[name]
                self._advance(function)
                answer["Functions"].append(self.configuration(function, listing=True))
            if start + max_items < len(names):
                answer["NextMarker"] = base64.urlsafe_b64encode(names[start + max_items].encode()).decode()
            return answer

    # -- invocations

    def prepare_invocation(self, reference, qualifier, invocation_type, payload, client_context_header, request_id):
        """Checks an Invoke the way Lambda does before running anything: (function, Invocation)."""
        limit = EVENT_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
        if len(payload) > limit:
            if invocation_type == "Event":
                message = "%d byte payload is too large for the Event invocation type (limit %d bytes)" % (
                    len(payload), limit)
            else:
                message = "Request must be smaller than %d bytes for the InvokeFunction operation" % limit
            raise ApiError(413, "RequestEntityTooLargeException", message)
        try:
            event_text = payload.decode("utf-8") if payload else "{}"
            json.loads(event_text)
        except ValueError as error:
            raise invalid_content(str(error))
        client_context = None
        if client_context_header is not None:
            if len(client_context_header) > CLIENT_CONTEXT_LIMIT:
                raise invalid_parameter("Client context must be less than %d bytes." % CLIENT_CONTEXT_LIMIT)
            try:
                client_context = json.loads(base64.b64decode(client_context_header, validate=True))
                if not isinstance(client_context, dict):
                    raise ValueError("not an object")
            except (ValueError, binascii.Error):
                raise invalid_parameter("Client context must be a valid Base64-encoded JSON object.")
        with self.lock:
            function, qualifier = self.resolve(reference, qualifier)
            if function.state == "Pending" and invocation_type != "DryRun":
                raise conflict("The operation cannot be performed at this time. "
                               "The function is currently in the following state: Pending")
            runtime = function.deployment.runtime
            if invocation_type != "DryRun" and (function.code is None or not runtime.startswith("python")):
                raise ApiError(500, "ServiceException", "This stand-in runs only Python functions, not %s."
                               % (runtime or "container images it was not given a registry for (--image-registry)"))
        invoked_arn = function_arn(self.region, function.name, qualifier)
        return function, Invocation(request_id, event_text, invoked_arn, client_context)

    def try_reserve_slot(self):
        with self.lock:
            if self.running >= self.concurrency:
                return False
            self._take_slot()
            return True

    def _take_slot(self):
        self.running += 1
        self.stats["invocations"] += 1
        self.stats["peak_concurrent_invocations"] = max(self.stats["peak_concurrent_invocations"], self.running)

    def release_slot(self):
        with self.lock:
            self.running -= 1
            self.slot_freed.notify()

    def throttle(self):
        return ApiError(429, "TooManyRequestsException", "Rate Exceeded.",
                        fields={"Reason": "ConcurrentInvocationLimitExceeded"},
                        headers={"Retry-After": str(self.retry_after)})

    def run_event(self, function, invocation):
        """An Event invocation, in the background: wait for a slot (Lambda's queue), run, drop the answer."""
        def run():
            with self.lock:
                self.stats["event_invocations"] += 1
                while self.running >= self.concurrency:
                    self.slot_freed.wait()
                if function.deleted:
                    return
                self._take_slot()
            try:
                self.execute(function, invocation)
            finally:
                self.release_slot()
        threading.Thread(target=run, daemon=True, name="event-" + invocation.request_id).start()

    def execute(self, function, invocation):
        """Run an invocation in a warm or new container: (Outcome, the invocation's log text)."""
        with self.lock:
            self._advance(function)
            deployment = function.deployment
            container = function.idle.pop() if function.idle else None
            if container is None:
                container = self._new_container(deployment)
                function.containers.add(container)
                self.stats["cold_starts"] += 1
        invocation.frame["deadline_ms"] = int(time.time() * 1000) + deployment.config["Timeout"] * 1000
        try:
            outcome = container.invoke(invocation.frame)
        except OSError as error:  # the container could not be started
            container.discard()
            with self.lock:
                function.containers.discard(container)
            raise ApiError(500, "ServiceException", "Could not start a container: %s" % error)
        with self.lock:
            if container.alive and not function.deleted and function.deployment is deployment:
                function.idle.append(container)
            else:
                container.discard()
                function.containers.discard(container)
        return outcome, self._log(invocation.request_id, deployment, outcome)

    def _new_container(self, deployment):
        if self.containers_mode == "thread":
            return ThreadContainer(deployment, self.packages)
        folder = os.path.join(self.state_dir, "containers", uuid.uuid4().hex)
        os.makedirs(folder)
        return ProcessContainer(deployment, self.region, folder)

    @staticmethod
    def _log(request_id, deployment, outcome):
        """The invocation's log as Lambda writes it: START, the output, END, REPORT."""
        report = "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\t" \
                 "Max Memory Used: %d MB\t" % (request_id, outcome.duration_ms, -(-outcome.duration_ms // 1),
                                              deployment.config["MemorySize"], outcome.max_memory_mb)
        if outcome.init_ms is not None:
            report += "Init Duration: %.2f ms\t" % outcome.init_ms
        if outcome.timed_out:
            report += "Status: timeout"
        return ("START RequestId: %s Version: $LATEST\n%sEND RequestId: %s\n%s\n"
                % (request_id, outcome.output, request_id, report))


# -- HTTP ----------------------------------------------------------------------------------

class Response:
    """An answer: status, headers, and a body given as JSON-able data or raw bytes."""

    def __init__(self, status, body=None, headers=None, raw=None):
        self.status = status
        self.headers = dict(headers or {})
        if raw is not None:
            self.body = raw
        elif body is not None:
            self.body = json.dumps(body).encode("utf-8")
            self.headers.setdefault("Content-Type", "application/json")
        else:
            self.body = b""


BODY_OPERATIONS = {"CreateFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration", "PublishLayerVersion"}
LAYER_OPERATIONS = {"ListLayers", "ListLayerVersions", "PublishLayerVersion", "GetLayerVersion"}
QUERY_MEMBERS = {"Qualifier", "Marker", "MaxItems", "MasterRegion", "FunctionVersion"}
INVOKE_HEADERS = {"InvocationType": "X-Amz-Invocation-Type", "LogType": "X-Amz-Log-Type",
                  "ClientContext": "X-Amz-Client-Context"}


def route(method, path):
    """(operation, function or layer name or None) for a request path without its query; operation None if
    unknown."""
    if path.rstrip("/") == LAYERS_PREFIX:
        return {"GET": "ListLayers"}.get(method), None
    if path.startswith(LAYERS_PREFIX + "/"):
        parts = path[len(LAYERS_PREFIX) + 1:].strip("/").split("/")
        if len(parts) == 2 and parts[1] == "versions":
            return {"GET": "ListLayerVersions", "POST": "PublishLayerVersion"}.get(method), unquote(parts[0])
        if len(parts) == 3 and parts[1] == "versions":
            return {"GET": "GetLayerVersion"}.get(method), unquote(parts[0]) + "/" + parts[2]
        return None, None
    if not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
        return None, None
    rest = path[len(API_PREFIX):].strip("/")
    if not rest:
        return {"POST": "CreateFunction", "GET": "ListFunctions"}.get(method), None
    parts = rest.split("/")
    name = unquote(parts[0])
    if len(parts) == 1:
        return {"GET": "GetFunction", "DELETE": "DeleteFunction"}.get(method), name
    if len(parts) == 2:
        return {("GET", "configuration"): "GetFunctionConfiguration",
                ("PUT", "configuration"): "UpdateFunctionConfiguration",
                ("PUT", "code"): "UpdateFunctionCode",
                ("POST", "invocations"): "Invoke"}.get((method, parts[1])), name
    return None, name


class LambdaApi:
    """The REST layer: routes a request, verifies it, runs the operation, shapes the answer."""

    def __init__(self, service, verifier):
        self.service = service
        self.verifier = verifier

    def handle(self, method, target, headers, body, request_id, host):
        path, _, query_text = target.partition("?")
        if path.startswith(STANDIN_PREFIX):
            return self._standin(method, path[len(STANDIN_PREFIX):], query_text)
        operation, name = route(method, path)
        self.service.count_request(operation or "Unknown")
        self.verifier.verify(method, target, headers, body)
        if operation is None:
            raise ApiError(404, "UnknownOperationException",
                           "This stand-in does not implement %s %s." % (method, path))
        params = self._params(operation, name, query_text, headers, body)
        if operation == "GetLayerVersion":
            return Response(200, self.service.get_layer_version(params["LayerName"], params["VersionNumber"]))
        self.service.validator.check(operation, params)
        if operation == "PublishLayerVersion":
            return Response(201, self.service.publish_layer_version(params))
        if operation == "ListLayerVersions":
            return Response(200, self.service.list_layer_versions(name))
        if operation == "ListLayers":
            return Response(200, self.service.list_layers())
        self._lose_injected_race(operation, name)
        qualifier = params.get("Qualifier")
        if operation == "CreateFunction":
            return Response(201, self.service.create_function(params))
        if operation == "ListFunctions":
            return Response(200, self.service.list_functions(params.get("Marker"), params.get("MaxItems", 50)))
        if operation == "GetFunction":
            return Response(200, self.service.get_function(name, qualifier, host))
        if operation == "GetFunctionConfiguration":
            return Response(200, self.service.get_configuration(name, qualifier))
        if operation == "UpdateFunctionCode":
            return Response(200, self.service.update_code(name, params))
        if operation == "UpdateFunctionConfiguration":
            return Response(200, self.service.update_configuration(name, params))
        if operation == "DeleteFunction":
            self.service.delete_function(name, qualifier)
            return Response(204)
        return self._invoke(name, qualifier, headers, body, request_id)

    @staticmethod
    def _params(operation, name, query_text, headers, body):
        """The operation's input as the API model names it: the JSON body's members, the function name from
        the path, the query's and the headers' members."""
        params = LambdaApi._json(body) if operation in BODY_OPERATIONS else {}
        if name is not None and operation == "GetLayerVersion":
            params["LayerName"], params["VersionNumber"] = name.split("/", 1)
        elif name is not None and operation in LAYER_OPERATIONS:
            params["LayerName"] = name
        elif name is not None:
            params["FunctionName"] = name
        for key, _, value in (pair.partition("=") for pair in query_text.split("&") if pair):
            if unquote(key) in QUERY_MEMBERS:
                params[unquote(key)] = unquote(value)
        if "MaxItems" in params:
            try:
                params["MaxItems"] = int(params["MaxItems"])
            except ValueError:
                raise invalid_parameter("MaxItems must be an integer, not '%s'." % params["MaxItems"])
        for member, header in INVOKE_HEADERS.items():
            if operation == "Invoke" and header in headers:
                params[member] = headers[header]
        return params

    @staticmethod
    def _json(body):
        if not body.strip():
            return {}
        try:
            value = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeError) as error:
            raise invalid_content(str(error))
        if not isinstance(value, dict):
            raise invalid_content("the request body must be a JSON object")
        return value

    def _invoke(self, name, qualifier, headers, payload, request_id):
        invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        function, invocation = self.service.prepare_invocation(
            name, qualifier, invocation_type, payload, headers.get("X-Amz-Client-Context"), request_id)
        if invocation_type == "DryRun":
            return Response(204)
        if invocation_type == "Event":
            self.service.run_event(function, invocation)
            return Response(202)
        if not self.service.try_reserve_slot():
            raise self.service.throttle()
        try:
            outcome, log = self.service.execute(function, invocation)
        finally:
            self.service.release_slot()
        response_headers = {"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"}
        if outcome.error is not None:
            response_headers["X-Amz-Function-Error"] = "Unhandled"
            body = json.dumps(outcome.error).encode("utf-8")
        else:
            body = outcome.result.encode("utf-8")
        if headers.get("X-Amz-Log-Type") == "Tail":
            response_headers["X-Amz-Log-Result"] = base64.b64encode(
                log.encode("utf-8")[-TAIL_LOG_LIMIT:]).decode()
        return Response(200, headers=response_headers, raw=body)

    def _lose_injected_race(self, operation, name):
        with self.service.lock:
            left = self.service.injected_conflicts.get(operation, 0)
            if left <= 0:
                return
            self.service.injected_conflicts[operation] = left - 1
        raise conflict("An update is in progress for resource: " + function_arn(self.service.region, name))

    def _standin(self, method, action, query_text):
        if method == "POST" and action == "conflicts":
            options = parse_qs(query_text)
            operation = options.get("operation", [""])[0]
            if operation not in ("UpdateFunctionCode", "UpdateFunctionConfiguration"):
                raise ApiError(400, "InvalidParameterValueException",
                               "operation must be UpdateFunctionCode or UpdateFunctionConfiguration")
            with self.service.lock:
                self.service.injected_conflicts[operation] = int(options.get("count", ["1"])[0])
            return Response(200, {"conflicts": self.service.injected_conflicts})
        if method == "GET" and action == "stats":
            return Response(200, self.service.snapshot_stats())
        if method == "POST" and action == "reset":
            self.service.reset()
            return Response(200, {"reset": True})
        if method == "GET" and action.startswith("code/"):
            with self.service.lock:
                zip_path = self.service.code_files.get(action[len("code/"):])
            if zip_path and os.path.exists(zip_path):
                with open(zip_path, "rb") as archive:
                    return Response(200, raw=archive.read(), headers={"Content-Type": "application/zip"})
        raise ApiError(404, "UnknownOperationException", "No stand-in endpoint %s %s%s."
                       % (method, STANDIN_PREFIX, action))


class LambdaRequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LambdaStandin/1"
    timeout = IDLE_CONNECTION_SECONDS

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format, *args):
        """No access log: GET /_standin/stats counts the requests."""

    def setup(self):
        super().setup()
        self.server.api.service.count_connection()

    def parse_request(self):
        self.request_id = str(uuid.uuid4())
        return super().parse_request()

    def send_response(self, code, message=None):
        """Every answer carries x-amzn-RequestId, http.server's own refusals included."""
        super().send_response(code, message)
        self.send_header("x-amzn-RequestId", self.request_id)

    def handle_expect_100(self):
        # Refuse an oversized body before the client sends it.
        if self._refused_length():
            return False
        return super().handle_expect_100()

    def _refused_length(self):
        """Answer 400 / 413 (and close) if Content-Length is invalid or over AWS's limit; True if so."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._send_error(ApiError(400, "InvalidRequestContentException", "Invalid Content-Length."), close=True)
            return True
        if length > REQUEST_BODY_LIMIT:
            operation, _ = route(self.command, self.path.partition("?")[0])
            operation = "InvokeFunction" if operation == "Invoke" else operation or "this"
            self._send_error(ApiError(413, "RequestEntityTooLargeException",
                                      "Request must be smaller than %d bytes for the %s operation"
                                      % (REQUEST_BODY_LIMIT, operation)), close=True)
            return True
        return False

    def _serve(self):
        if "Transfer-Encoding" in self.headers:
            self._send_error(ApiError(411, "LengthRequiredException",
                                      "This stand-in needs Content-Length, not Transfer-Encoding."), close=True)
            return
        if self._refused_length():
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.path.encode("latin-1").decode("utf-8", "replace")
        try:
            response = self.server.api.handle(self.command, target, self.headers, body, self.request_id,
                                  "%s:%d" % self.server.server_address[:2])
        except ApiError as error:
            self._send_error(error)
            return
        except Exception as error:  # a bug here must not take the server down: answer 500 and say why
            traceback.print_exc()
            self._send_error(ApiError(500, "ServiceException", "The stand-in failed: %s: %s"
                                      % (type(error).__name__, error)))
            return
        self._send(response)

    def _send_error(self, error, close=False):
        self.server.api.service.count_error(error)
        headers = dict(error.headers)
        headers["x-amzn-ErrorType"] = error.code + (CORAL_SUFFIX if error.auth else "")
        if close:
            headers["Connection"] = "close"
            self.close_connection = True
        self._send(Response(error.status, error.body(), headers))

    def _send(self, response):
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.status != 204:
            self.wfile.write(response.body)


class StandinServer(http.server.ThreadingHTTPServer):
    """HTTP/1.1 with keep-alive, a thread per connection, a deep listen queue for bursts of clients."""

    daemon_threads = True
    request_queue_size = 4096

    def __init__(self, port, api):
        self.api = api
        super().__init__(("127.0.0.1", port), LambdaRequestHandler)

    def handle_error(self, request, client_address):
        """A client that went away is no error of the stand-in's; anything else is printed."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description="A strict AWS Lambda stand-in (see the module docstring).")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True, help="written with the bound port once listening")
    parser.add_argument("--access-key", default=DEFAULT_ACCESS_KEY)
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    parser.add_argument("--session-token", help="require this X-Amz-Security-Token, signed")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--pending-seconds", type=float, default=1.0, help="how long a new function is Pending")
    parser.add_argument("--update-seconds", type=float, default=1.0, help="how long an update is InProgress")
    parser.add_argument("--concurrency", type=int, default=10, help="the account's concurrent invocations")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After of a 429, in seconds")
    parser.add_argument("--containers", choices=("process", "thread"), default="process")
    parser.add_argument("--state-dir", help="for unpacked code and containers (default: a temporary folder)")
    parser.add_argument("--image-registry", action="append", metavar="HOST=URL",
                        help="the registry serving HOST's images (repeatable), for image functions to run")
    parser.add_argument("--image-credentials", metavar="USER:PASSWORD", help="Basic auth for --image-registry")
    return parser.parse_args(argv)


def _write_atomically(path, text):
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def main(argv):
    options = parse_arguments(argv)
    own_state_dir = options.state_dir is None
    options.state_dir = os.path.abspath(options.state_dir or tempfile.mkdtemp(prefix="lambda-standin-"))
    service = LambdaService(options)
    verifier = SignatureVerifier(options.access_key, options.secret_key, options.session_token, options.region)
    server = StandinServer(options.port, LambdaApi(service, verifier))

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        _write_atomically(options.port_file, "%d\n" % server.server_address[1])
        server.serve_forever()
    finally:
        server.server_close()
        service.shutdown()
        if own_state_dir:
            shutil.rmtree(options.state_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--run-container"]:
        sys.exit(run_container(int(sys.argv[2])))
    sys.exit(main(sys.argv[1:]))
