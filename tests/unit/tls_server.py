"""HTTPS servers for test_tls, on 127.0.0.1, with a CA made here.

Makes, in a temporary folder, a CA and certificates signed by it (ECDSA
P-256): one for "localhost" and 127.0.0.1, one for another host name only,
one that expired, and a self-signed one no CA vouches for. Then serves, each
on a free port:

  good         the localhost certificate; HTTP/1.1 with keep-alive:
                 /hello         200 "hello world"
                 /port          200, the client's port (the same on a reused connection)
                 /session       200 "resumed" or "full": how this connection's handshake went
                 /sleep?ms=N    200 "slept" after N ms
                 /drop          200 "bye" (keep-alive offered), then the TLS connection is
                                closed with close_notify, as servers drop idle connections
                 /cut           the same, but the socket is closed without close_notify
  old          the localhost certificate, but TLS 1.0 and 1.1 only (which the
               client must refuse: it speaks TLS 1.2 or later)
  wrong_host   the certificate for another name
  expired      the expired certificate
  self_signed  the self-signed certificate
  closer       accepts, reads the ClientHello and closes: a server that drops a
               connection in the middle of the handshake
  staller      accepts, reads the ClientHello and answers nothing: a handshake
               that never ends
  plain        plain HTTP (an https:// URL to an http server)

and prints one JSON line: {"dir": ..., "ca": CA file, "ca_dir": a folder
with the CA under its hash name (SSL_CERT_DIR), "bad_pem": a file that is
not PEM, "ports": {name: port}}. Serves until stdin closes or it is killed.
Run with Debian's Python (its python3-cryptography makes the certificates).
"""
import datetime
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import warnings

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import ipaddress


def write_pem(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def make_key():
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_cert(subject_name, key, issuer_name, issuer_key, names=(), addresses=(), ca=False,
              not_before=None, not_after=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_name)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before or now - datetime.timedelta(days=1))
               .not_valid_after(not_after or now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False), critical=True)
    alternatives = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    if alternatives:
        builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(folder):
    ca_key = make_key()
    ca = make_cert("faaset test CA", ca_key, "faaset test CA", ca_key, ca=True)
    ca_file = write_pem(os.path.join(folder, "ca.pem"), ca.public_bytes(serialization.Encoding.PEM))
    ca_dir = os.path.join(folder, "certs")
    os.mkdir(ca_dir)
    subject_hash = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", ca_file], check=True,
                                  capture_output=True, text=True).stdout.strip()
    write_pem(os.path.join(ca_dir, subject_hash + ".0"), ca.public_bytes(serialization.Encoding.PEM))
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=60)
    leaves = {
        "good": dict(names=["localhost"], addresses=["127.0.0.1"]),
        "wrong_host": dict(names=["other.example"]),
        "expired": dict(names=["localhost"], addresses=["127.0.0.1"], not_before=past,
                        not_after=past + datetime.timedelta(days=30)),
    }
    files = {}
    for name, options in leaves.items():
        key = make_key()
        cert = make_cert(name, key, "faaset test CA", ca_key, **options)
        files[name] = (write_pem(os.path.join(folder, name + ".pem"), cert.public_bytes(serialization.Encoding.PEM)),
                       write_pem(os.path.join(folder, name + ".key"), key_pem(key)))
    key = make_key()
    cert = make_cert("localhost", key, "localhost", key, names=["localhost"], addresses=["127.0.0.1"])
    files["self_signed"] = (write_pem(os.path.join(folder, "self.pem"), cert.public_bytes(serialization.Encoding.PEM)),
                            write_pem(os.path.join(folder, "self.key"), key_pem(key)))
    bad_pem = os.path.join(folder, "not-a-ca.pem")
    with open(bad_pem, "w") as f:
        f.write("this is not a certificate\n")
    return ca_file, ca_dir, bad_pem, files


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def setup(self):
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            self.handshake_failed = True
        else:
            self.handshake_failed = False
        super().setup()

    def handle(self):
        if not self.handshake_failed:
            super().handle()

    def reply(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/hello":
            self.reply(200, "hello world")
        elif url.path == "/port":
            self.reply(200, str(self.client_address[1]))
        elif url.path == "/session":
            self.reply(200, "resumed" if self.request.session_reused else "full")
        elif url.path == "/sleep":
            time.sleep(int(query.get("ms", ["0"])[0]) / 1000)
            self.reply(200, "slept")
        elif url.path in ("/drop", "/cut"):
            self.reply(200, "bye")
            time.sleep(0.05)
            if url.path == "/drop":
                try:
                    self.request.unwrap()  # close_notify
                except (ssl.SSLError, OSError):
                    pass
            self.request.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        else:
            self.reply(404, "no such path")


class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, cert, key, old_versions_only=False):
        super().__init__(("127.0.0.1", 0), Handler)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        if old_versions_only:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self.context.set_ciphers("DEFAULT:@SECLEVEL=0")
                self.context.minimum_version = ssl.TLSVersion.TLSv1
                self.context.maximum_version = ssl.TLSVersion.TLSv1_1

    def get_request(self):
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class PlainServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), QuietHandler)


def closer(listener):
    while True:
        conn, _ = listener.accept()
        try:
            conn.recv(4096)  # the ClientHello
        finally:
            conn.close()


def staller(listener):
    held = []
    while True:
        conn, _ = listener.accept()
        conn.recv(4096)  # the ClientHello, never answered
        held.append(conn)


def main():
    folder = tempfile.mkdtemp(prefix="faaset-tls-")
    ca_file, ca_dir, bad_pem, files = make_pki(folder)
    servers = {name: TLSServer(*files[name]) for name in ("good", "wrong_host", "expired", "self_signed")}
    servers["old"] = TLSServer(*files["good"], old_versions_only=True)
    servers["plain"] = PlainServer()
    ports = {name: server.server_address[1] for name, server in servers.items()}
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    ports["closer"] = listener.getsockname()[1]
    threading.Thread(target=closer, args=(listener,), daemon=True).start()
    quiet = socket.socket()
    quiet.bind(("127.0.0.1", 0))
    quiet.listen(16)
    ports["staller"] = quiet.getsockname()[1]
    threading.Thread(target=staller, args=(quiet,), daemon=True).start()
    print(json.dumps({"dir": folder, "ca": ca_file, "ca_dir": ca_dir, "bad_pem": bad_pem, "ports": ports}),
          flush=True)
    sys.stdin.read()  # until the test ends
    subprocess.run(["rm", "-rf", folder])


if __name__ == "__main__":
    main()
