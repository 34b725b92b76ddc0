"""`alertwire agent`'s policy model: KubeArmor YAML parsed with errors that name the field,
the pure access decision, what gets marked, syscall decoding, and the alert's shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alertwire.agent import syscalls
from alertwire.agent.alerts import Process, kubearmor_alert
from alertwire.agent.policy import (
    Policy,
    PolicyError,
    Watch,
    load_policies,
    resolved,
    violation,
    watches,
)
from alertwire.domain.alerts import detect_source
from alertwire.domain.filters import parse
from tests.fixtures import FIXTURES

POLICIES = FIXTURES / "kubearmor" / "policies"


def policy(yaml_text: str) -> Policy:
    (loaded,) = load_policies(yaml_text, "p.yaml")
    return loaded


def spec(body: str, kind: str = "KubeArmorHostPolicy") -> str:
    return f"kind: {kind}\nmetadata: {{name: t}}\nspec:\n" + body


def test_upstream_policies_parse() -> None:
    """The upstream sample policies load with their rules, action, severity, tags, message."""
    ksp = policy((POLICIES / "ksp-file-path-block.yaml").read_text())
    assert ksp.name == "ksp-ubuntu-1-file-path-block"
    assert [r.path for r in ksp.rules] == ["/etc/passwd", "/secret.txt", "/credentials/password"]
    assert {(r.action, r.severity, r.tags, r.message) for r in ksp.rules} == {
        ("Block", 10, ("WARNING",), "a critical file was accessed")}
    fim = policy((POLICIES / "fim.yaml").read_text())
    assert all(r.is_dir and r.recursive and r.read_only for r in fim.rules)
    assert fim.rules[0].tags[:2] == ("NIST", "NIST_800-53_AU-2")
    hsp = policy((POLICIES / "hsp-file-path-block-fromsource.yaml").read_text())
    assert [s.path for s in hsp.rules[0].from_source] == ["/usr/bin/head"]
    cluster = policy((POLICIES / "harden-file-integrity-monitoring.yaml").read_text())
    assert cluster.kind == "KubeArmorClusterPolicy" and len(cluster.rules) == 6


@pytest.mark.parametrize(("text", "where", "why"), [
    ("kind: Pod\n", "kind", "expected one of KubeArmorPolicy"),
    ("kind: KubeArmorPolicy\nspec: {action: Block}\n", "metadata", "expected a mapping"),
    (spec("  action: Block\n"), "spec", "no file or process rule"),
    (spec("  file: {matchPaths: [{path: /x}]}\n"), "spec.action", "expected Audit or Block"),
    (spec("  action: Allow\n  file: {matchPaths: [{path: /x}]}\n"), "spec.action", "Allow"),
    (spec("  action: Block\n  file: {matchPaths: [{path: etc/x}]}\n"),
     "spec.file.matchPaths[0].path", "absolute path"),
    (spec("  action: Block\n  file: {matchDirectories: [{dir: /etc}]}\n"),
     "spec.file.matchDirectories[0].dir", "ends in '/'"),
    (spec("  action: Block\n  file: {matchDirectories: [{dir: /etc/, recursive: yes please}]}\n"),
     "spec.file.matchDirectories[0].recursive", "true or false"),
    (spec("  action: Block\n  severity: 11\n  file: {matchPaths: [{path: /x}]}\n"),
     "spec.severity", "1 to 10"),
    (spec("  action: Block\n  file: {matchPaths: [{path: /x, fromSource: [{exe: /y}]}]}\n"),
     "spec.file.matchPaths[0].fromSource[0]", "{path: /abs/program}"),
    (spec("  action: Block\n  network: {matchProtocols: [{protocol: icmp}]}\n"),
     "spec.network", "cannot be enforced with fanotify"),
    (spec("  action: Block\n  file: {matchPaths: [{path: /x, ownerOnly: true}]}\n"),
     "spec.file.matchPaths[0].ownerOnly", "not supported"),
    (spec("  action: Block\n  file: {matchPatterns: [{pattern: /x*}]}\n"),
     "spec.file.matchPatterns", "not supported"),
    (spec("  action: Block\n  process: {matchPaths: [{path: /x, readOnly: true}]}\n"),
     "spec.process.matchPaths[0].readOnly", "unknown field"),
    ("kind: [unclosed\n", "p.yaml", "not valid YAML"),
])
def test_bad_policies_say_which_field_and_why(text: str, where: str, why: str) -> None:
    """A policy that cannot be enforced as written is refused, naming the file and field
    path and the reason; nothing is silently ignored."""
    with pytest.raises(PolicyError) as caught:
        load_policies(text, "p.yaml")
    assert caught.value.where.endswith(where) and why in caught.value.problem, str(caught.value)
    assert str(caught.value).startswith("p.yaml")


def test_decisions() -> None:
    """readOnly blocks writes only; a non-recursive directory covers its direct children;
    fromSource limits a rule to those programs; process rules see executions only; a
    matching Block rule wins over an Audit one; a per-rule action overrides the policy's."""
    p = policy(spec(
        "  action: Block\n  file:\n    matchDirectories:\n"
        "    - {dir: /ro/, recursive: true, readOnly: true}\n"
        "    - {dir: /flat/}\n"
        "    - {dir: /both/, action: Audit}\n"
        "    matchPaths:\n"
        "    - {path: /etc/hostname, fromSource: [{path: /usr/bin/head}]}\n"
        "    - {path: /both/x}\n"
        "  process:\n    matchPaths: [{path: /usr/bin/sleep}]\n"))

    def decide(path: str, access: str, exe: str = "/usr/bin/cat",
               op: str = "File") -> str | None:
        found = violation([p], op, path, access, exe)  # type: ignore[arg-type]
        return None if found is None else found.rule.action

    assert decide("/ro/a/b/c", "read") is None
    assert decide("/ro/a/b/c", "write") == "Block"
    assert decide("/flat/f", "read") == "Block"
    assert decide("/flat/sub/f", "read") is None
    assert decide("/flatter/f", "read") is None
    assert decide("/etc/hostname", "read", "/usr/bin/head") == "Block"
    assert decide("/etc/hostname", "read", "/usr/bin/cat") is None
    assert decide("/both/y", "read") == "Audit"
    assert decide("/both/x", "read") == "Block"
    assert decide("/usr/bin/sleep", "exec", "/usr/bin/bash", "Process") == "Block"
    assert decide("/usr/bin/sleep", "read", "/usr/bin/bash", "Process") is None
    assert decide("/usr/bin/sleep", "read") is None  # no file rule names it


def test_what_gets_marked() -> None:
    """A file rule marks its directory (opens and modifications) and, for a Block that
    forbids reading, the file itself for reads; directory rules keep their recursion; process
    rules mark for executions."""
    p = policy(spec(
        "  action: Block\n  file:\n    matchPaths: [{path: /s/secret}, {path: /s/ro, readOnly: true}]\n"
        "    matchDirectories: [{dir: /d/, recursive: true}]\n"
        "  process:\n    matchDirectories: [{dir: /opt/bin/}]\n"))
    assert watches([p]) == [
        Watch("/d", True, frozenset({"open", "modify"})),
        Watch("/opt/bin", False, frozenset({"exec"})),
        Watch("/s", False, frozenset({"open", "modify"})),
        Watch("/s/secret", False, frozenset({"read"}), is_file=True),
    ]


def test_paths_resolve_like_the_kernel_reports_them() -> None:
    """Policy paths and fromSource programs go through realpath (merged /usr: /bin/head is
    /usr/bin/head), directories keep their trailing '/'."""
    p = policy(spec("  action: Block\n  file:\n    matchDirectories:\n"
                    "    - {dir: /bin/, fromSource: [{path: /bin/head}]}\n"))
    real = resolved(p, lambda path: path.replace("/bin", "/usr/bin", 1)
                    if path.startswith("/bin") else path)
    assert real.rules[0].path == "/usr/bin/"
    assert real.rules[0].from_source[0].path == "/usr/bin/head"


@pytest.mark.parametrize(("text", "machine", "name", "mode", "data"), [
    ("257 0xffffff9c 0x7ffd04a1686a 0x941 0x1b6 0x0 0x0 0x7ffd04a15ba0 0x7fe0d631d011", "x86_64",
     "SYS_OPENAT", "write", "syscall=SYS_OPENAT flags=O_WRONLY|O_CREAT|O_NOCTTY|O_NONBLOCK"),
    ("257 0xffffff9c 0x7ffdd4d4386c 0x0 0x0 0x0 0x0 0x7ffdd4d42960 0x7f15d0d72011", "x86_64",
     "SYS_OPENAT", "read", "syscall=SYS_OPENAT flags=O_RDONLY"),
    ("2 0x7ffd 0x402 0x0 0x0 0x0 0x0 0x1 0x2", "x86_64", "SYS_OPEN", "write",
     "syscall=SYS_OPEN flags=O_RDWR|O_APPEND"),
    ("85 0x7ffd 0x1a4 0x0 0x0 0x0 0x0 0x1 0x2", "x86_64", "SYS_CREAT", "write",
     "syscall=SYS_CREAT flags=O_WRONLY|O_CREAT|O_TRUNC"),
    ("59 0x55 0x56 0x57 0x0 0x0 0x0 0x1 0x2", "x86_64", "SYS_EXECVE", "unknown",
     "syscall=SYS_EXECVE"),
    ("56 0xffffff9c 0x7ffd 0x200 0x0 0x0 0x0 0x1 0x2", "aarch64", "SYS_OPENAT", "write",
     "syscall=SYS_OPENAT flags=O_RDONLY|O_TRUNC"),
    ("202 0x1 0x2 0x3 0x0 0x0 0x0 0x1 0x2", "x86_64", None, "unknown", ""),
    ("running", "x86_64", None, "unknown", ""),
])
def test_blocked_syscall_decoding(text: str, machine: str, name: str | None, mode: str,
                                  data: str) -> None:
    """/proc/<pid>/syscall tells the open's flags (a write is O_WRONLY, O_RDWR, O_TRUNC or
    O_CREAT), execs, and 'unknown' for anything else (which read-only rules treat as a
    write)."""
    blocked = syscalls.parse(text, machine)
    assert (blocked.name, blocked.mode, blocked.data()) == (name, mode, data)


def test_openat2_needs_the_callers_memory() -> None:
    """openat2's flags live in its struct open_how: the address is handed on."""
    blocked = syscalls.parse("437 0xffffff9c 0x7ffd 0x7ffe1000 0x18 0x0 0x0 0x1 0x2", "x86_64")
    assert blocked.needs_open_how == 0x7FFE1000 and blocked.mode == "unknown"


KUBEARMOR_KEYS = set().union(*(json.loads(p.read_bytes()).keys()
                               for p in (FIXTURES / "kubearmor" / "alerts").glob("*.json")))
PROCESS = Process(pid=4242, ppid=4200, uid=1000, executable="/usr/bin/touch",
                  command="/usr/bin/touch /srv/secret.txt", parent_executable="/usr/bin/bash")


def ksp() -> Policy:
    return policy((POLICIES / "ksp-file-path-block.yaml").read_text())


def test_blocked_alert_has_kubearmors_shape() -> None:
    """A denied open reads like KubeArmor's own host alert: only KubeArmor field names,
    Severity a string, Tags comma-joined and ATags a list, Type MatchedHostPolicy, Enforcer
    fanotify, Action Block with the error the process got; it is detected as `kubearmor`
    and matched by `Action = Block`."""
    found = violation([ksp()], "File", "/secret.txt", "write", "/usr/bin/touch")
    assert found is not None
    alert = kubearmor_alert(
        found, operation="File", resource="/secret.txt",
        data="syscall=SYS_OPENAT flags=O_WRONLY|O_CREAT|O_NOCTTY|O_NONBLOCK", blocked=True,
        process=PROCESS, host="node-1", now=1696316210.829165)
    assert set(alert) <= KUBEARMOR_KEYS | {"Enforcer"}
    assert alert == {
        "Timestamp": 1696316210, "UpdatedTime": "2023-10-03T06:56:50.829165Z",
        "HostName": "node-1", "HostPPID": 4200, "HostPID": 4242, "PPID": 4200, "PID": 4242,
        "UID": 1000, "ParentProcessName": "/usr/bin/bash", "ProcessName": "/usr/bin/touch",
        "PolicyName": "ksp-ubuntu-1-file-path-block", "Severity": "10", "Tags": "WARNING",
        "ATags": ["WARNING"], "Message": "a critical file was accessed",
        "Type": "MatchedHostPolicy", "Source": "/usr/bin/touch /srv/secret.txt",
        "Operation": "File", "Resource": "/secret.txt",
        "Data": "syscall=SYS_OPENAT flags=O_WRONLY|O_CREAT|O_NOCTTY|O_NONBLOCK",
        "Enforcer": "fanotify", "Action": "Block", "Result": "Operation not permitted",
    }
    assert detect_source(alert) == "kubearmor"
    assert parse("Action = Block AND Severity >= 10 AND Tags ~ warning").matches(alert)


def test_unenforced_block_is_reported_as_audit() -> None:
    """When the access was not (could not be) denied, the alert says Audit / Passed, never
    Block."""
    found = violation([ksp()], "File", "/secret.txt", "write", "/usr/bin/touch")
    assert found is not None and found.rule.action == "Block"
    alert: dict[str, Any] = kubearmor_alert(
        found, operation="File", resource="/secret.txt", data="event=FAN_MODIFY",
        blocked=False, process=PROCESS, host="h", now=0)
    assert (alert["Action"], alert["Result"]) == ("Audit", "Passed")
    assert not parse("Action = Block").matches(alert)


def test_process_alert_names_the_program_started() -> None:
    """For an execution, ProcessName and Resource are the program being started and
    ParentProcessName / Source the caller, as in KubeArmor's process alerts."""
    p = policy(spec("  action: Block\n  process: {matchPaths: [{path: /usr/bin/sleep}]}\n"))
    found = violation([p], "Process", "/usr/bin/sleep", "exec", "/usr/bin/bash")
    assert found is not None
    caller = Process(pid=1, ppid=None, uid=0, executable="/usr/bin/bash", command="/usr/bin/bash",
                     parent_executable=None)
    alert = kubearmor_alert(found, operation="Process", resource="/usr/bin/sleep",
                            data="syscall=SYS_EXECVE", blocked=True, process=caller, host="h",
                            now=0)
    assert (alert["ProcessName"], alert["ParentProcessName"], alert["Source"],
            alert["Operation"]) == ("/usr/bin/sleep", "/usr/bin/bash", "/usr/bin/bash", "Process")
    assert "PPID" not in alert and "Severity" not in alert
