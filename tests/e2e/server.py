"""Run the real `alertwire` program as a subprocess, as a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def alertwire_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "alertwire.cli", *args]


class Server:
    """`alertwire serve` on a free port; `output` collects what it printed."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = os.environ | {
            "ALERTWIRE_DATA_DIR": str(data_dir), "ALERTWIRE_PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
        } | (env or {})
        self.process: subprocess.Popen[str] | None = None
        self.output = ""

    def start(self, timeout: float = 30) -> Server:
        self.process = subprocess.Popen(
            alertwire_cmd("serve", *self.args), cwd=REPO, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alertwire exited: {self.process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError("alertwire did not become healthy")

    def stop(self, sig: int = signal.SIGTERM) -> str:
        assert self.process is not None
        self.process.send_signal(sig)
        out, _ = self.process.communicate(timeout=30)
        self.output += out
        return self.output


class Worker:
    """`alertwire worker` as a separate process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = os.environ | {"PYTHONUNBUFFERED": "1"} | env
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> Worker:
        self.process = subprocess.Popen(
            alertwire_cmd("worker"), cwd=REPO, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self) -> str:
        """Block until the worker printed its start-up line (it is claiming from then on)."""
        assert self.process is not None and self.process.stdout is not None
        return self.process.stdout.readline()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> str:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        out, _ = self.process.communicate(timeout=timeout)
        return out


def run_cli(server: Server, token: str, *args: str, env: dict[str, str] | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`alertwire ARGS` as a user runs it against `server` (ALERTWIRE_URL, ALERTWIRE_TOKEN),
    with no terminal: stdout and stderr captured apart."""
    full = os.environ | {"ALERTWIRE_URL": server.url, "ALERTWIRE_TOKEN": token} | (env or {})
    return subprocess.run(alertwire_cmd(*args), cwd=REPO, env=full, capture_output=True,
                          text=True, input=stdin, timeout=120,
                          stdin=None if stdin is not None else subprocess.DEVNULL)
