"""Schemathesis against a live `alertwire serve` (SPEC §0, §8): generated requests, valid and
invalid, for every operation of `/openapi.json`, and no answer may be a 500 or disagree with
the document (status, content type, body schema, headers, Allow), and no invalid request may
be accepted. Settings: tests/e2e/schemathesis.toml.

Both the server and schemathesis run inside a new network namespace that has only `lo`, and
its resolv.conf points at that `lo`: whatever URL the fuzzer gives an integration, a test or
a replay, nothing can leave 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import netns
from tests.e2e.server import REPO

CONFIG = REPO / "tests" / "e2e" / "schemathesis.toml"
TOKEN = "aw_fuzz_" + secrets.token_hex(16)
PORT = 8080  # a new namespace: every port is free
FUZZ_BUDGET_SECONDS = 240  # it takes about 20 s; a hang fails the test instead of the suite


@pytest.fixture
def loopback_namespace() -> Iterator[str]:
    """A network namespace with only `lo` (127.0.0.1, ::1) and no route anywhere else."""
    with netns.loopback_namespace("aw-fuzz") as name:
        yield name


@pytest.mark.netns
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    tmp_path: Path, loopback_namespace: str
) -> None:
    """Every operation, every phase (examples from the fixtures, coverage, fuzzing, stateful
    sequences): schemathesis reports no failure, and the server logs no error while it runs."""
    links = netns.only_loopback(loopback_namespace)
    assert len(links) == 1 and ": lo:" in links[0], links  # no way out of the namespace
    env = os.environ | {
        "ALERTWIRE_DATA_DIR": str(tmp_path / "data"), "ALERTWIRE_PORT": str(PORT),
        "ALERTWIRE_ADMIN_TOKEN": TOKEN, "ALERTWIRE_SECRET_KEY": "fuzz-secret-key",
        "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8", "ALERTWIRE_DELIVERY_TIMEOUT": "2",
        "ALERTWIRE_LOG_LEVEL": "warning", "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1",
    }
    inside = ["ip", "netns", "exec", loopback_namespace]
    log = tmp_path / "server.log"  # a file, not a pipe: nothing can block the server's writes
    with log.open("w") as sink:
        server = subprocess.Popen([*inside, sys.executable, "-m", "alertwire.cli", "serve"],
                                  cwd=REPO, env=env, text=True, stdout=sink,
                                  stderr=subprocess.STDOUT)
    started = time.monotonic()
    try:
        fuzz = subprocess.run(
            [*inside, str(Path(sys.executable).with_name("st")), "--no-color",
             "--config-file", str(CONFIG), "run", f"http://127.0.0.1:{PORT}/openapi.json",
             "--wait-for-schema", "30", "-H", f"Authorization: Bearer {TOKEN}",
             "--output-truncate", "true"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=FUZZ_BUDGET_SECONDS,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    output = log.read_text()
    elapsed = time.monotonic() - started
    report = fuzz.stdout + fuzz.stderr
    assert fuzz.returncode == 0, report[-30000:]
    assert "Operations:       65 selected / 66 total" in report, report[-5000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅  {phase}" in report, report[-5000:]
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    errors = [e for e in events if e["level"] in ("error", "critical")]
    assert errors == [], errors[:3]
    print(f"schemathesis run: {elapsed:.1f} s")
