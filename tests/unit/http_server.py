"""Loopback HTTP/1.1 server for test_http: binds a free port on 127.0.0.1,
prints it on stdout, and serves until killed (or until stdin closes, so it
never outlives its test).

  /hello               200 "hello world"
  /echo                200, the request body; X-Echo = the request's X-Custom,
                       X-Method, X-Content-Type and X-Content-Length as received
  /limited             429 with Retry-After: 2
  /sleep?ms=N          200 "slept" after N ms
  /port?ms=N           200, the client's port (the same on a reused connection),
                       after N ms (default 0)
  /big?bytes=N         200, N bytes of "a"
  /chunked             200, "one two three" in chunks, no Content-Length
  /port?drop=1         as /port, then the connection is closed without a word
                       (as servers drop idle keep-alive connections), after
                       linger=N ms
  /close               200 "bye" with Connection: close, then closed
  /old                 an HTTP/1.0 answer with no length: the body ends at the close
  /aws/ok              200 {"ok": true}; X-Signed = the Authorization header's
                       scheme and SignedHeaders, X-Date = X-Amz-Date
  /aws/header          404 as Lambda: x-amzn-ErrorType "Code:http://..." and
                       a body with "Message"
  /aws/body            400 with no x-amzn-ErrorType: the code in the body's
                       "__type" ("namespace#Code"), the text in "message"
  /aws/throttle        429 with Retry-After: 3 and "message"
  /aws/quote           403 InvalidSignatureException whose message quotes the
                       request's X-Amz-Security-Token, as AWS quotes the
                       canonical request
"""
import http.server
import sys
import threading
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def reply(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/hello":
            self.reply(200, "hello world", [("Content-Type", "text/plain")])
        elif url.path == "/echo":
            self.reply(200, body, [
                ("X-Echo", self.headers.get("X-Custom", "")),
                ("X-Method", self.command),
                ("X-Content-Type", self.headers.get("Content-Type", "(none)")),
                ("X-Content-Length", self.headers.get("Content-Length", "(none)")),
                ("X-Expect", self.headers.get("Expect", "(none)")),
            ])
        elif url.path == "/limited":
            self.reply(429, '{"Reason": "ConcurrentInvocationLimitExceeded"}',
                       [("Retry-After", "2"), ("x-amzn-ErrorType", "TooManyRequestsException")])
        elif url.path == "/sleep":
            time.sleep(int(query.get("ms", ["0"])[0]) / 1000.0)
            self.reply(200, "slept")
        elif url.path == "/port":
            time.sleep(int(query.get("ms", ["0"])[0]) / 1000.0)
            self.reply(200, str(self.client_address[1]))
            if query.get("drop"):
                self.wfile.flush()
                time.sleep(int(query.get("linger", ["0"])[0]) / 1000.0)
                self.close_connection = True
        elif url.path == "/close":
            self.reply(200, "bye", [("Connection", "close")])
            self.close_connection = True
        elif url.path == "/old":
            self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Old: yes\r\n\r\nuntil the end")
            self.close_connection = True
        elif url.path == "/big":
            size = int(query.get("bytes", ["0"])[0])
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            block = b"a" * 65536
            try:
                while size > 0:
                    self.wfile.write(block[:size])
                    size -= len(block)
            except OSError:
                self.close_connection = True  # the client stopped reading
        elif url.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one ", b"two ", b"three"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif url.path.startswith("/aws/"):
            self.reply_aws(url.path[len("/aws/"):])
        else:
            self.reply(404, "not found")

    def reply_aws(self, case):
        if case == "ok":
            authorization = self.headers.get("Authorization", "")
            signed = authorization.split(",")[1].strip() if authorization.count(",") == 2 else "(none)"
            self.reply(200, '{"ok": true}', [("X-Signed", authorization.split(" ")[0] + " " + signed),
                                             ("X-Date", self.headers.get("X-Amz-Date", "(none)"))])
        elif case == "header":
            self.reply(404, '{"Type": "User", "Message": "Function not found: arn:aws:lambda:us-east-1:1:function:f"}',
                       [("x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/coral/lambda/")])
        elif case == "body":
            self.reply(400, '{"__type": "com.amazonaws.lambda#InvalidParameterValueException", "message": "bad"}')
        elif case == "throttle":
            self.reply(429, '{"message": "Rate Exceeded."}', [("Retry-After", "3")])
        elif case == "quote":
            token = self.headers.get("X-Amz-Security-Token", "")
            self.reply(403, '{"message": "should have been x-amz-security-token:%s and %s"}' % (token, token),
                       [("x-amzn-ErrorType", "InvalidSignatureException")])
        else:
            self.reply(404, "not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096

    def handle_error(self, request, client_address):
        pass  # clients that hang up early (cancelled, too large) are part of the tests


def main():
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # the test closed its end: stop


if __name__ == "__main__":
    main()
