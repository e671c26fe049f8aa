"""The part of Microsoft's `azure.functions` package (the Python worker's
programming model, v1: function.json folders) that an HTTP-triggered
function uses, for the Azure Functions stand-in's instances
(tests/azure/azure_function_host.py puts this folder first on sys.path, as
the real worker puts its own copy of the library). Names, signatures and
behaviour follow the package's public reference: HttpRequest (method, url,
headers, params, route_params, get_body, get_json), HttpResponse (body,
status_code, headers, mimetype, charset, get_body) and Context
(invocation_id, function_name, function_directory).
"""
import json
import types

__all__ = ["HttpRequest", "HttpResponse", "Context"]


class _Headers(dict):
    """Header names compare case-insensitively (stored lower-case), as the package's HttpRequestHeaders."""

    def __init__(self, source=None):
        super().__init__()
        for name, value in (source or {}).items():
            self[name] = value

    def __setitem__(self, name, value):
        super().__setitem__(name.lower(), value)

    def __getitem__(self, name):
        return super().__getitem__(name.lower())

    def __contains__(self, name):
        return super().__contains__(name.lower())

    def get(self, name, default=None):
        return super().get(name.lower(), default)


class HttpRequest:
    """An HTTP request as the function gets it: read-only headers, params and route_params."""

    def __init__(self, method, url, *, headers=None, params=None, route_params=None, body):
        self._method = method.upper()
        self._url = url
        self._headers = types.MappingProxyType(_Headers(headers))
        self._params = types.MappingProxyType(dict(params or {}))
        self._route_params = types.MappingProxyType(dict(route_params or {}))
        self._body = bytes(body or b"")

    @property
    def method(self):
        return self._method

    @property
    def url(self):
        return self._url

    @property
    def headers(self):
        return self._headers

    @property
    def params(self):
        return self._params

    @property
    def route_params(self):
        return self._route_params

    def get_body(self):
        return self._body

    def get_json(self):
        """The body parsed as JSON; ValueError when it is not JSON, as the package raises."""
        return json.loads(self._body)


class HttpResponse:
    """An HTTP response from the function: body str (encoded with charset) or bytes."""

    def __init__(self, body=None, *, status_code=None, headers=None, mimetype=None, charset=None):
        self._status_code = 200 if status_code is None else int(status_code)
        self._mimetype = "text/plain" if mimetype is None else mimetype
        self._charset = "utf-8" if charset is None else charset
        self._headers = _Headers(headers)
        if "content-type" not in self._headers:
            self._headers["content-type"] = f"{self._mimetype}; charset={self._charset}"
        if body is None:
            self._body = b""
        elif isinstance(body, str):
            self._body = body.encode(self._charset)
        elif isinstance(body, (bytes, bytearray)):
            self._body = bytes(body)
        else:
            raise TypeError(f"response is expected to be either of str, bytes, or bytearray, got {type(body).__name__}")

    @property
    def status_code(self):
        return self._status_code

    @property
    def headers(self):
        return self._headers

    @property
    def mimetype(self):
        return self._mimetype

    @property
    def charset(self):
        return self._charset

    def get_body(self):
        return self._body


class Context:
    """What the host tells a function about its invocation (the `context` parameter)."""

    def __init__(self, invocation_id, function_name, function_directory):
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory

    @property
    def invocation_id(self):
        return self._invocation_id

    @property
    def function_name(self):
        return self._function_name

    @property
    def function_directory(self):
        return self._function_directory
