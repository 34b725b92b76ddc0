"""The alert `alertwire agent` sends for a violation: KubeArmor's own field names and
conventions (compare the samples in fixtures/kubearmor/alerts), `Type: MatchedHostPolicy`,
`Enforcer: fanotify`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alertwire.agent.policy import Operation, Violation

ENFORCER = "fanotify"
PASSED = "Passed"
DENIED = "Operation not permitted"  # fanotify's FAN_DENY fails the syscall with EPERM


@dataclass(frozen=True)
class Process:
    """The process that made the access, as /proc showed it."""

    pid: int
    ppid: int | None
    uid: int | None
    executable: str | None  # /proc/<pid>/exe
    command: str | None  # /proc/<pid>/cmdline, space-joined
    parent_executable: str | None


def kubearmor_alert(violation: Violation, *, operation: Operation, resource: str, data: str,
                    blocked: bool, process: Process, host: str, now: float) -> dict[str, Any]:
    """The alert for one violation. `blocked` says whether the access was really denied:
    Action `Block` with the process's error as Result only then; a Block rule that fanotify
    could not enforce is reported as `Audit` / `Passed`, never as blocked."""
    rule, policy = violation.rule, violation.policy
    stamp = datetime.fromtimestamp(now, UTC)
    alert: dict[str, Any] = {
        "Timestamp": int(now),
        "UpdatedTime": stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "HostName": host,
        "HostPPID": process.ppid,
        "HostPID": process.pid,
        "PPID": process.ppid,
        "PID": process.pid,
        "UID": process.uid,
    }
    if operation == "Process":
        # exec: the program being started is the process; the caller is its parent.
        alert["ParentProcessName"] = process.executable
        alert["ProcessName"] = resource
    else:
        alert["ParentProcessName"] = process.parent_executable
        alert["ProcessName"] = process.executable
    alert["PolicyName"] = policy.name
    if rule.severity is not None:
        alert["Severity"] = str(rule.severity)
    if rule.tags:
        alert["Tags"] = ",".join(rule.tags)
        alert["ATags"] = list(rule.tags)
    if rule.message:
        alert["Message"] = rule.message
    alert |= {
        "Type": "MatchedHostPolicy",
        "Source": process.executable if operation == "Process" else
        (process.command or process.executable),
        "Operation": operation,
        "Resource": resource,
        "Data": data,
        "Enforcer": ENFORCER,
        "Action": "Block" if blocked else "Audit",
        "Result": DENIED if blocked else PASSED,
    }
    return {key: value for key, value in alert.items() if value not in (None, "")}
