"""Run the real `alertwire` program as a subprocess, as a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
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


class Drain:
    """Reads a child's output as it comes: one JSON log line per delivery attempt would
    otherwise fill the pipe, and the child would block on its next write."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self._stream = process.stdout
        self.lines: list[str] = []
        self._new_line = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            with self._new_line:
                self.lines.append(line)
                self._new_line.notify_all()

    def line_starting(self, prefix: str, timeout: float = 60) -> str:
        """The first line starting with `prefix`, once it is there ("" if it never came)."""
        def found() -> str | None:
            return next((line for line in self.lines if line.startswith(prefix)), None)

        with self._new_line:
            self._new_line.wait_for(
                lambda: found() is not None or not self._thread.is_alive(), timeout)
            return found() or ""

    def text(self) -> str:
        """Everything read so far; after the process ended, everything it wrote."""
        self._thread.join(timeout=30)
        return "".join(self.lines)


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
        self.drain: Drain | None = None
        self.output = ""

    def start(self, timeout: float = 30) -> Server:
        self.process = subprocess.Popen(
            alertwire_cmd("serve", *self.args), cwd=REPO, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.drain = Drain(self.process)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alertwire exited: {self.drain.text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError("alertwire did not become healthy")

    def stop(self, sig: int = signal.SIGTERM) -> str:
        assert self.process is not None and self.drain is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        self.output += self.drain.text()
        return self.output


class Worker:
    """`alertwire worker` as a separate process."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = os.environ | {"PYTHONUNBUFFERED": "1"} | env
        self.process: subprocess.Popen[str] | None = None
        self.drain: Drain | None = None

    def start(self) -> Worker:
        self.process = subprocess.Popen(
            alertwire_cmd("worker"), cwd=REPO, env=self.env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.drain = Drain(self.process)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self) -> str:
        """Block until the worker printed its start-up line (it is claiming from then on)."""
        assert self.drain is not None
        return self.drain.line_starting("alertwire worker")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> str:
        assert self.process is not None and self.drain is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=timeout)
        return self.drain.text()


def run_cli(server: Server, token: str, *args: str, env: dict[str, str] | None = None,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`alertwire ARGS` as a user runs it against `server` (ALERTWIRE_URL, ALERTWIRE_TOKEN),
    with no terminal: stdout and stderr captured apart."""
    full = os.environ | {"ALERTWIRE_URL": server.url, "ALERTWIRE_TOKEN": token} | (env or {})
    return subprocess.run(alertwire_cmd(*args), cwd=REPO, env=full, capture_output=True,
                          text=True, input=stdin, timeout=120,
                          stdin=None if stdin is not None else subprocess.DEVNULL)
