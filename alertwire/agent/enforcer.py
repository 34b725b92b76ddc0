"""Policies enforced with fanotify: mark what the policies name, answer every permission
event (deny what a Block rule forbids, allow the rest), and hand an alert for each violation
to `on_alert`.

Runs in its own thread (`run`), which does nothing but answer events: it never opens a file
that could be marked, so it cannot wait on itself. An answer is always written, whatever
fails while deciding (try/finally): an unanswered event would hang the accessing process."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from alertwire.agent import fanotify, syscalls
from alertwire.agent.alerts import Process, kubearmor_alert
from alertwire.agent.fanotify import Event, Fanotify
from alertwire.agent.policy import (
    Access,
    Hear,
    Operation,
    Policy,
    Violation,
    covered,
    resolved,
    violation,
    watches,
)

log = logging.getLogger("alertwire.agent")

_MASKS: dict[Hear, int] = {
    "open": fanotify.FAN_OPEN_PERM,
    "exec": fanotify.FAN_OPEN_EXEC_PERM,
    "modify": fanotify.FAN_MODIFY,
    "read": fanotify.FAN_ACCESS_PERM,
}
_MODIFY_REPEAT = 10.0  # seconds: one Audit alert per process and file for unstoppable writes
_MODIFY_NOTE = "event=FAN_MODIFY (a write through an already open file: fanotify cannot stop it)"


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as file:
            return file.read(4096).decode("utf-8", "replace")
    except OSError:
        return None


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path).removesuffix(" (deleted)")
    except OSError:
        return None


def _status(tid: int) -> dict[str, str]:
    text = _read(f"/proc/{tid}/status") or ""
    fields = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key: value.strip() for key, value in fields}


class Enforcer:
    def __init__(self, policies: Sequence[Policy], on_alert: Callable[[dict[str, Any]], None],
                 *, rescan_seconds: float = 2.0) -> None:
        self.policies = [resolved(p, os.path.realpath) for p in policies]
        self.on_alert = on_alert
        self.rescan_seconds = rescan_seconds
        self.host = socket.gethostname()
        self.own_pid = os.getpid()
        self.machine = os.uname().machine
        self.group = Fanotify()
        self.marked: set[tuple[str, int]] = set()
        self.answered = 0
        self._recent_modify: dict[tuple[int, str], float] = {}
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False

    # ------------------------------------------------------------------------------ marks

    def mark(self) -> list[str]:
        """Mark everything the policies name that exists now (idempotent; run again to pick
        up directories created since). Answers what could not be marked, and why."""
        problems = []
        for watch in watches(self.policies):
            mask = 0
            for hear in watch.hear:
                mask |= _MASKS[hear]
            if watch.is_file:
                targets = [watch.path] if os.path.isfile(watch.path) else []
            elif not os.path.isdir(watch.path):
                problems.append(f"{watch.path}: no such directory yet (marked when it appears)")
                continue
            elif watch.recursive:
                # One mark per directory in the tree (not a mount mark: that would route
                # every open on the whole filesystem through the agent).
                targets = [root for root, _, _ in os.walk(watch.path, followlinks=False)]
            else:
                targets = [watch.path]
            for target in targets:
                if (target, mask) in self.marked:
                    continue
                try:
                    self.group.mark(target, mask, children=not watch.is_file)
                except OSError as exc:
                    problems.append(str(exc))
                    continue
                self.marked.add((target, mask))
        return problems

    # ------------------------------------------------------------------------------ events

    def run(self) -> None:
        """Answer events until `stop()`; rescan for new directories every few seconds."""
        next_scan = time.monotonic() + self.rescan_seconds
        while not self._stopping:
            timeout = max(0.0, next_scan - time.monotonic())
            if self.group.wait(timeout, self._wake_r):
                for event in self.group.read():
                    self.handle(event)
            if time.monotonic() >= next_scan:
                for problem in self.mark():
                    log.debug("%s", problem)
                next_scan = time.monotonic() + self.rescan_seconds

    def stop(self) -> None:
        self._stopping = True
        os.write(self._wake_w, b"x")

    def close(self) -> None:
        """Closing the group's descriptor drops every mark (the kernel does it for a crash
        too)."""
        self.group.close()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)

    def handle(self, event: Event) -> None:
        allow = True
        alert: dict[str, Any] | None = None
        try:
            if event.mask & fanotify.FAN_Q_OVERFLOW:
                log.error("fanotify queue overflow: some accesses were not seen")
                return
            allow, alert = self.decide(event)
        except Exception:
            log.exception("error deciding on an access (pid %d); allowed", event.pid)
            allow, alert = True, None
        finally:
            if event.needs_answer:
                try:
                    self.group.respond(event, allow)
                    self.answered += 1
                except OSError as exc:
                    log.error("cannot answer a fanotify event: %s", exc)
            if event.fd >= 0:
                os.close(event.fd)
        if alert is not None:
            try:
                self.on_alert(alert)
            except Exception:
                log.exception("cannot queue an alert")

    def decide(self, event: Event) -> tuple[bool, dict[str, Any] | None]:
        """(allow?, the alert to send or None) for one event."""
        path = fanotify.event_path(event)
        if path is None or not covered(self.policies, path):
            return True, None
        tid = event.pid
        status = _status(tid)
        pid = int(status.get("Tgid") or tid)
        if pid == self.own_pid:
            return True, None
        executable = _readlink(f"/proc/{tid}/exe")
        blocked_in = syscalls.parse(_read(f"/proc/{tid}/syscall") or "", self.machine)
        if blocked_in.needs_open_how is not None:
            blocked_in = self._openat2(tid, blocked_in)
        operation: Operation = "Process" if event.mask & fanotify.FAN_OPEN_EXEC_PERM else "File"
        access: Access
        if event.mask & fanotify.FAN_MODIFY:
            access = "write"
        elif event.mask & fanotify.FAN_ACCESS_PERM:
            access = "read"
        elif operation == "Process" or blocked_in.name in ("SYS_EXECVE", "SYS_EXECVEAT"):
            access = "exec"
        else:
            # Flags not readable (io_uring, an unknown syscall): treated as a write, so a
            # read-only rule fails closed.
            access = "read" if blocked_in.mode == "read" else "write"
        found = violation(self.policies, operation, path, access, executable)
        if found is None:
            return True, None
        if event.mask & fanotify.FAN_MODIFY:
            return True, self._unstoppable_write(found, pid, path, status, executable)
        block = found.rule.action == "Block"
        data = blocked_in.data() or ("syscall=SYS_READ" if access == "read" else "")
        return not block, kubearmor_alert(
            found, operation=operation, resource=path, data=data, blocked=block,
            process=self._process(pid, status, executable), host=self.host, now=time.time())

    def _unstoppable_write(self, found: Violation, pid: int, path: str, status: dict[str, str],
                           executable: str | None) -> dict[str, Any] | None:
        """A write fanotify only heard about afterwards: reported as Audit when a Block rule
        forbade it (an Audit rule's alert was already sent at open), once per process and
        file every few seconds."""
        if found.rule.action != "Block":
            return None
        now = time.monotonic()
        if now - self._recent_modify.get((pid, path), -_MODIFY_REPEAT) < _MODIFY_REPEAT:
            return None
        self._recent_modify[(pid, path)] = now
        if len(self._recent_modify) > 4096:
            self._recent_modify.clear()
        return kubearmor_alert(
            found, operation="File", resource=path, data=_MODIFY_NOTE, blocked=False,
            process=self._process(pid, status, executable), host=self.host, now=time.time())

    def _openat2(self, tid: int, call: syscalls.Blocked) -> syscalls.Blocked:
        """openat2's flags are the first field of its struct open_how, in the caller's
        memory."""
        try:
            with open(f"/proc/{tid}/mem", "rb", buffering=0) as memory:
                memory.seek(call.needs_open_how or 0)
                raw = memory.read(8)
        except (OSError, ValueError, OverflowError):
            return syscalls.Blocked(call.name, None)
        return syscalls.Blocked(call.name, int.from_bytes(raw, "little") & 0xFFFFFFFF)

    def _process(self, pid: int, status: dict[str, str], executable: str | None) -> Process:
        ppid = int(status["PPid"]) if status.get("PPid", "").isdigit() else None
        uid_field = status.get("Uid", "").split()
        argv = (_read(f"/proc/{pid}/cmdline") or "").rstrip("\0").split("\0")
        # As KubeArmor writes Source: the program's path, then its arguments.
        command = " ".join([executable or argv[0], *argv[1:]]).strip() or None
        return Process(
            pid=pid, ppid=ppid, uid=int(uid_field[0]) if uid_field else None,
            executable=executable, command=command,
            parent_executable=_readlink(f"/proc/{ppid}/exe") if ppid else None,
        )
