"""The receiver every contender posts to: nginx answering 204, counting at its access log.

One nginx per measurement, so each log holds exactly one contender's requests. Two servers:
`url` answers 204 without reading the body (throughput); `body_url` proxies to it and logs the
request body, so latency can be taken per alert from the `seq` it carries.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.e2e.server import free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """
user root;
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  log_format counted '$msec';
  log_format bodies escape=json '$msec $request_body';
  upstream sink {{ server 127.0.0.1:{port}; keepalive 256; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    access_log {dir}/access.log counted buffer=1m flush=200ms;
    location / {{ return 204; }}
  }}
  server {{
    listen 127.0.0.1:{body_port} backlog=4096;
    access_log {dir}/bodies.log bodies buffer=1m flush=200ms;
    client_body_buffer_size 64k;
    client_body_in_single_buffer on;
    location / {{
      proxy_pass http://sink;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""


class Sink:
    def __init__(self, port: int | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="alertwire-bench-nginx-"))
        self.port = port or free_port()
        self.body_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.body_url = f"http://127.0.0.1:{self.body_port}/hook"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Sink:
        conf = self.dir / "nginx.conf"
        conf.write_text(CONFIG.format(dir=self.dir, port=self.port, body_port=self.body_port))
        (self.dir / "access.log").touch()
        (self.dir / "bodies.log").touch()
        self.process = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(self.dir)])
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # nginx flushes its log buffers on exit
            self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def arrivals(self) -> list[float]:
        """The time of every request received so far (seconds since the epoch, ms steps)."""
        text = (self.dir / "access.log").read_text()
        return [float(line) for line in text.split()]

    def count(self) -> int:
        with open(self.dir / "access.log", "rb") as log:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: log.read(1 << 20), b""))

    def bodies(self) -> list[tuple[float, dict[str, object]]]:
        """(arrival time, JSON body) of every request through `body_url`."""
        found = []
        for line in (self.dir / "bodies.log").read_text().splitlines():
            at, _, body = line.partition(" ")
            found.append((float(at), json.loads(json.loads(f'"{body}"'))))
        return found

    def wait_for(self, total: int, timeout: float) -> float:
        """Block until `total` requests are logged; the arrival time of the last one."""
        deadline = time.monotonic() + timeout
        while self.count() < total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"receiver saw {self.count()} of {total} requests")
            time.sleep(0.05)
        return max(self.arrivals())


def wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")
