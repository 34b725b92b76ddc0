"""What the process that fanotify stopped was doing, from `/proc/<pid>/syscall` (the blocked
syscall's number and arguments, readable by root while the process waits for our answer):
the open flags, which fanotify itself does not report, decide whether an open writes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

Mode = Literal["read", "write", "unknown"]

# (name, index of the flags argument; None: creat, which always writes).
_OPENS = {
    "x86_64": {2: ("SYS_OPEN", 1), 257: ("SYS_OPENAT", 2), 85: ("SYS_CREAT", None),
               437: ("SYS_OPENAT2", None)},
    "aarch64": {56: ("SYS_OPENAT", 2), 437: ("SYS_OPENAT2", None)},
}
_EXECS = {"x86_64": {59: "SYS_EXECVE", 322: "SYS_EXECVEAT"},
          "aarch64": {221: "SYS_EXECVE", 281: "SYS_EXECVEAT"}}
OPENAT2 = 437
_FLAG_NAMES = [(getattr(os, n), n) for n in (
    "O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND", "O_NONBLOCK", "O_DSYNC",
    "O_DIRECT", "O_LARGEFILE", "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC",
    "O_SYNC", "O_PATH", "O_TMPFILE") if hasattr(os, n)]


@dataclass(frozen=True)
class Blocked:
    """The syscall a process is blocked in: its name (`SYS_OPENAT`), and for opens the flags
    (None when they cannot be read)."""

    name: str | None
    flags: int | None
    needs_open_how: int | None = None  # openat2: address of its struct open_how

    @property
    def mode(self) -> Mode:
        if self.name == "SYS_CREAT":
            return "write"
        if self.flags is None:
            return "unknown"
        return "write" if writes(self.flags) else "read"

    def data(self) -> str:
        """KubeArmor's `Data` field: `syscall=SYS_OPENAT flags=O_WRONLY|O_CREAT`."""
        if self.name is None:
            return ""
        if self.flags is None:
            return f"syscall={self.name}"
        return f"syscall={self.name} flags={flag_names(self.flags)}"


def writes(flags: int) -> bool:
    """An open with these flags can change the file."""
    return flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR) or bool(flags & (os.O_TRUNC | os.O_CREAT))


def flag_names(flags: int) -> str:
    access = {os.O_RDONLY: "O_RDONLY", os.O_WRONLY: "O_WRONLY", os.O_RDWR: "O_RDWR"}
    names = [access.get(flags & os.O_ACCMODE, "O_ACCMODE")]
    names += [name for bit, name in _FLAG_NAMES if bit and flags & bit == bit]
    return "|".join(names)


def parse(text: str, machine: str) -> Blocked:
    """`/proc/<pid>/syscall` text (`257 0xffffff9c 0x7ffd… 0x941 …`) on `machine`
    (`os.uname().machine`)."""
    parts = text.split()
    if not parts or not parts[0].lstrip("-").isdigit():
        return Blocked(None, None)  # "running", or nothing
    number = int(parts[0])
    try:
        args = [int(a, 16) for a in parts[1:7]]
    except ValueError:
        return Blocked(None, None)
    if number in _EXECS.get(machine, {}):
        return Blocked(_EXECS[machine][number], None)
    found = _OPENS.get(machine, {}).get(number)
    if found is None or len(args) < 3:
        return Blocked(None, None)
    name, index = found
    if number == OPENAT2:
        return Blocked(name, None, needs_open_how=args[2])
    if index is None:
        return Blocked(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    return Blocked(name, args[index] & 0xFFFFFFFF)
