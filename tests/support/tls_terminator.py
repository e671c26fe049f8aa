"""A TLS terminator for the benchmarks and the tests: nginx (Debian's) in
front of a plain-HTTP server on loopback, with a CA and certificate made
here.

    terminator = TlsTerminator(workdir, upstream_port, connections)
    terminator.url        # https://localhost:PORT/
    terminator.ca_file    # the CA's PEM file, for SSL_CERT_FILE / AWS_CA_BUNDLE / --ca
    terminator.cpu_seconds()
    terminator.stop()

The CA and the server's certificate (for "localhost" and 127.0.0.1) are
ECDSA P-256 keys made with the openssl command line in WORKDIR/tls. nginx
runs in the foreground from a configuration written to WORKDIR/nginx (no
file outside it is read or written): one worker process per core, each
taking up to CONNECTIONS client connections plus as many to the upstream,
access log off, TLS 1.2 and 1.3 with session tickets (nginx's defaults),
keep-alive from the client for as long as the benchmark runs, and a pool of
kept-alive HTTP/1.1 connections to the upstream, so that nginx does not
open a connection to the upstream per request. The client's Host header is
passed on (the aws stand-in checks SigV4 signatures, which sign it).

What this does not measure: a real network. On loopback the handshake's
round trips cost nothing, so the figures are the client's CPU and memory
per TLS connection and request, which is what limits a client holding a
thousand connections; a cloud adds its round-trip times to every new
connection, the same for any client.
"""
import getpass
import os
import shutil
import socket
import subprocess
import time

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT_S = 10.0


class TlsTerminatorError(Exception):
    pass


def _run(argv, cwd):
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise TlsTerminatorError(f"{' '.join(argv[:3])} failed: {done.stderr[-1000:]}")


def make_certificates(folder):
    """A CA and a certificate for localhost / 127.0.0.1 signed by it; returns (ca, cert, key) paths."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = folder / "ca.key", folder / "ca.pem"
    key, csr, cert, ext = folder / "server.key", folder / "server.csr", folder / "server.pem", folder / "server.ext"
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _run(["openssl", "req", "-x509", *curve, "-keyout", str(ca_key), "-out", str(ca_cert), "-days", "2",
          "-subj", "/CN=faaset benchmark CA", "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], folder)
    _run(["openssl", "req", *curve, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost"], folder)
    ext.write_text("basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
                   "extendedKeyUsage=serverAuth\n")
    _run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
          "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext)], folder)
    return ca_cert, cert, key


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TlsTerminator:
    def __init__(self, workdir, upstream_port, connections):
        if not os.path.exists(NGINX):
            raise TlsTerminatorError("nginx is not installed (Debian: apt-get install nginx-light)")
        self.ca_file, cert, key = make_certificates(workdir / "tls")
        self.prefix = workdir / "nginx"
        for sub in ("logs", "temp"):
            (self.prefix / sub).mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        workers = os.cpu_count() or 2
        per_worker = 2 * connections + 1024
        user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
        temp = self.prefix / "temp"
        config = self.prefix / "nginx.conf"
        config.write_text(f"""{user}daemon off;
master_process on;
worker_processes {workers};
worker_rlimit_nofile {per_worker + 1024};
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/logs/error.log warn;
events {{
    worker_connections {per_worker};
    multi_accept on;
}}
http {{
    access_log off;
    client_max_body_size 256m;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 600s;
    upstream sleeper {{
        server 127.0.0.1:{upstream_port};
        keepalive {connections};
        keepalive_requests 1000000;
        keepalive_timeout 600s;
    }}
    server {{
        listen 127.0.0.1:{self.port} ssl backlog=65535;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{
            proxy_pass http://sleeper;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
        }}
    }}
}}
""")
        self.stderr = open(self.prefix / "logs" / "stderr.txt", "wb")
        self.process = subprocess.Popen([NGINX, "-p", str(self.prefix), "-c", str(config)], stdin=subprocess.DEVNULL,
                                        stdout=self.stderr, stderr=self.stderr, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    log = (self.prefix / "logs" / "error.log")
                    raise TlsTerminatorError("nginx did not start: " +
                                             (log.read_text()[-2000:] if log.exists() else "no log"))
                time.sleep(0.05)
        self.url = f"https://localhost:{self.port}/"
        self.version = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip()

    def pids(self):
        """The master and its workers."""
        pids = [self.process.pid]
        try:
            children = open(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read().split()
            pids += [int(pid) for pid in children]
        except OSError:
            pass
        return pids

    def cpu_seconds(self):
        total = 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        for pid in self.pids():
            try:
                fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
            except (OSError, IndexError, ValueError):
                pass
        return total

    def stop(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 9)
            except OSError:
                pass
            self.process.wait(timeout=10)
        self.stderr.close()
