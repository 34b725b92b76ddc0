"""The enforcer on the real kernel: fanotify marks on temporary directories only, accesses
made by real programs in child processes. Needs CAP_SYS_ADMIN and permission events."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alertwire.agent import fanotify
from alertwire.agent.enforcer import Enforcer
from alertwire.agent.policy import load_policies

WHY_NOT = fanotify.unavailable()
pytestmark = pytest.mark.skipif(WHY_NOT is not None,
                                reason=f"fanotify permission events unavailable: {WHY_NOT}")


class Running:
    def __init__(self, policy_yaml: str) -> None:
        self.alerts: list[dict[str, Any]] = []
        self.enforcer = Enforcer(load_policies(policy_yaml, "test.yaml"), self.alerts.append,
                                 rescan_seconds=0.2)
        assert self.enforcer.mark() == []
        self.thread = threading.Thread(target=self.enforcer.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.enforcer.stop()
        self.thread.join(timeout=5)
        self.enforcer.close()


@pytest.fixture
def enforce() -> Iterator[Any]:
    started: list[Running] = []

    def start(policy_yaml: str) -> Running:
        started.append(Running(policy_yaml))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=10)


def program(name: str) -> str:
    """Where `name` really is (as /proc/<pid>/exe shows it)."""
    return str(Path(shutil.which(name) or name).resolve())


def host_policy(body: str, action: str = "Block") -> str:
    return ("kind: KubeArmorHostPolicy\nmetadata: {name: test-policy}\nspec:\n"
            f"  action: {action}\n  severity: 7\n  tags: [FIM]\n  message: protected\n{body}")


def test_block_denies_open_and_alerts(tmp_path: Path, enforce: Any) -> None:
    """A Block matchPaths rule: `cat` and an append from the shell fail with EPERM, the file
    is unchanged, a neighbour is untouched; each denial is one Block alert with the program,
    the path and the open flags."""
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret\n")
    (tmp_path / "other.txt").write_text("fine\n")
    running = enforce(host_policy(f"  file:\n    matchPaths: [{{path: {secret}}}]\n"))
    cat = run("cat", str(secret))
    assert cat.returncode == 1 and "Operation not permitted" in cat.stderr
    append = run("sh", "-c", f"echo more >> {secret}")
    assert append.returncode != 0 and "Operation not permitted" in append.stderr
    assert run("cat", str(tmp_path / "other.txt")).stdout == "fine\n"
    assert secret.read_text() == "s3cret\n"
    assert [(a["Action"], a["ProcessName"], a["Resource"]) for a in running.alerts] == [
        ("Block", program("cat"), str(secret)), ("Block", program("sh"), str(secret))]
    assert running.alerts[0]["Data"] == "syscall=SYS_OPENAT flags=O_RDONLY"
    assert "O_WRONLY" in running.alerts[1]["Data"] and "O_APPEND" in running.alerts[1]["Data"]
    assert {a["Result"] for a in running.alerts} == {"Operation not permitted"}


def test_read_only_directory_allows_reads_denies_writes(tmp_path: Path, enforce: Any) -> None:
    """readOnly + recursive: reads anywhere below pass without an alert; writes (also in a
    subdirectory created after the agent started, once rescanned) are denied and alerted."""
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f").write_text("data\n")
    running = enforce(host_policy(
        f"  file:\n    matchDirectories: [{{dir: {tree}/, recursive: true, readOnly: true}}]\n"))
    assert run("cat", str(tree / "sub" / "f")).stdout == "data\n"
    assert running.alerts == []
    assert run("sh", "-c", f"echo x > {tree}/sub/f").returncode != 0
    (tree / "new").mkdir()  # by this (the agent's own) process: never blocked
    time.sleep(0.6)
    assert run("sh", "-c", f"echo x > {tree}/new/g").returncode != 0
    assert [a["Resource"] for a in running.alerts] == [f"{tree}/sub/f", f"{tree}/new/g"]
    assert (tree / "sub" / "f").read_text() == "data\n"


def test_from_source_limits_the_rule_to_one_program(tmp_path: Path, enforce: Any) -> None:
    """fromSource (the upstream hsp sample's shape): `head` is denied the file, `cat` reads
    it."""
    host = tmp_path / "hostname"
    host.write_text("node\n")
    head = program("head")
    running = enforce(host_policy(
        f"  file:\n    matchPaths:\n    - path: {host}\n      fromSource: [{{path: {head}}}]\n"))
    assert run("head", str(host)).returncode == 1
    assert run("cat", str(host)).stdout == "node\n"
    assert [a["ProcessName"] for a in running.alerts] == [head]


def test_audit_allows_and_alerts(tmp_path: Path, enforce: Any) -> None:
    """An Audit rule lets the access through and reports it as Audit / Passed."""
    watched = tmp_path / "watched"
    watched.write_text("w\n")
    running = enforce(host_policy(f"  file:\n    matchPaths: [{{path: {watched}}}]\n", "Audit"))
    assert run("cat", str(watched)).stdout == "w\n"
    assert [(a["Action"], a["Result"]) for a in running.alerts] == [("Audit", "Passed")]


def test_process_rule_denies_execution(tmp_path: Path, enforce: Any) -> None:
    """A process matchPaths Block rule stops the program from starting (FAN_OPEN_EXEC_PERM);
    the alert names it as the process and the caller as its parent."""
    mytrue = tmp_path / "bin" / "mytrue"
    mytrue.parent.mkdir()
    shutil.copy(program("true"), mytrue)
    running = enforce(host_policy(f"  process:\n    matchPaths: [{{path: {mytrue}}}]\n"))
    result = run("sh", "-c", f"{mytrue}; echo rc=$?")
    assert "rc=126" in result.stdout or "rc=1" in result.stdout, result
    assert "Operation not permitted" in result.stderr
    (alert,) = running.alerts
    assert (alert["Operation"], alert["ProcessName"], alert["Action"]) == (
        "Process", str(mytrue), "Block")
    assert alert["ParentProcessName"] == program("sh")


def test_every_permission_event_is_answered_even_when_deciding_fails(
        tmp_path: Path, enforce: Any) -> None:
    """A bug while deciding must not hang the accessing process: the event is still answered
    (allowed), promptly."""
    secret = tmp_path / "secret.txt"
    secret.write_text("s\n")
    running = enforce(host_policy(f"  file:\n    matchPaths: [{{path: {secret}}}]\n"))

    def broken(event: Any) -> Any:
        raise RuntimeError("bug")

    running.enforcer.decide = broken
    started = time.monotonic()
    assert run("cat", str(secret)).stdout == "s\n"
    assert time.monotonic() - started < 5
    assert running.enforcer.answered >= 1


def test_own_process_is_never_blocked(tmp_path: Path, enforce: Any) -> None:
    """The agent's own process opens a protected file freely (and it raises no alert)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("mine\n")
    running = enforce(host_policy(f"  file:\n    matchPaths: [{{path: {secret}}}]\n"))
    assert secret.read_text() == "mine\n"
    assert running.alerts == []


def test_writes_fanotify_cannot_stop_are_reported_as_audit(tmp_path: Path, enforce: Any) -> None:
    """A file opened for writing before the agent started can still be written (fanotify
    decides at open): the write goes through and is reported as Audit, not as blocked."""
    secret = tmp_path / "secret.txt"
    secret.write_text("")
    writer = subprocess.Popen(
        [sys.executable, "-c", f"import sys; f = open({str(secret)!r}, 'a'); sys.stdout.write("
         "'open\\n'); sys.stdout.flush(); sys.stdin.readline(); f.write('late\\n'); f.close()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline() == "open\n"
    running = enforce(host_policy(f"  file:\n    matchPaths: [{{path: {secret}}}]\n"))
    writer.communicate("go\n", timeout=10)
    assert secret.read_text() == "late\n"
    deadline = time.monotonic() + 5
    while not running.alerts and time.monotonic() < deadline:
        time.sleep(0.05)
    (alert,) = running.alerts
    assert (alert["Action"], alert["Result"]) == ("Audit", "Passed")
    assert "FAN_MODIFY" in alert["Data"]


def test_closing_the_group_releases_every_mark(tmp_path: Path, enforce: Any) -> None:
    """Once the fanotify descriptor is closed (agent stopped or crashed), nothing is blocked."""
    secret = tmp_path / "secret.txt"
    secret.write_text("s\n")
    running = enforce(host_policy(f"  file:\n    matchPaths: [{{path: {secret}}}]\n"))
    assert run("cat", str(secret)).returncode == 1
    running.enforcer.stop()
    running.thread.join(timeout=5)
    running.enforcer.group.close()
    assert run("cat", str(secret)).stdout == "s\n"
