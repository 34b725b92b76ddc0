"""Linux fanotify through ctypes: one FAN_CLASS_CONTENT group, marks, events, answers.

A permission event holds the accessing process inside its syscall until it is answered, so
every one must be answered (`Fanotify.respond`), error or not. Marks live as long as the
group's file descriptor: when the agent exits or crashes, the kernel drops them all."""

from __future__ import annotations

import ctypes
import errno
import os
import select
import struct
from dataclasses import dataclass

FAN_CLOEXEC = 0x01
FAN_NONBLOCK = 0x02
FAN_CLASS_CONTENT = 0x04
FAN_REPORT_TID = 0x100

FAN_ACCESS = 0x01
FAN_MODIFY = 0x02
FAN_CLOSE_WRITE = 0x08
FAN_OPEN = 0x20
FAN_OPEN_EXEC = 0x1000
FAN_Q_OVERFLOW = 0x4000
FAN_OPEN_PERM = 0x10000
FAN_ACCESS_PERM = 0x20000
FAN_OPEN_EXEC_PERM = 0x40000
FAN_EVENT_ON_CHILD = 0x08000000
PERMISSION_EVENTS = FAN_OPEN_PERM | FAN_ACCESS_PERM | FAN_OPEN_EXEC_PERM

FAN_MARK_ADD = 0x01
FAN_MARK_REMOVE = 0x02
FAN_MARK_DONT_FOLLOW = 0x04
FAN_MARK_ONLYDIR = 0x08

FAN_ALLOW = 0x01
FAN_DENY = 0x02
FAN_NOFD = -1
AT_FDCWD = -100

_METADATA = struct.Struct("=IBBHQii")  # event_len, vers, reserved, metadata_len, mask, fd, pid
_RESPONSE = struct.Struct("=iI")  # fd, response
_VERSION = 3

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
_libc.fanotify_init.restype = ctypes.c_int
_libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int,
                                ctypes.c_char_p]
_libc.fanotify_mark.restype = ctypes.c_int


class FanotifyError(OSError):
    pass


def _fail(what: str) -> FanotifyError:
    code = ctypes.get_errno()
    return FanotifyError(code, f"{what}: {os.strerror(code)}")


@dataclass(frozen=True)
class Event:
    mask: int
    fd: int  # an fd open on the accessed file (FAN_NOFD for a queue overflow)
    pid: int  # the thread's id where the kernel reports them (FAN_REPORT_TID), else the pid

    @property
    def needs_answer(self) -> bool:
        return bool(self.mask & PERMISSION_EVENTS) and self.fd >= 0


class Fanotify:
    def __init__(self) -> None:
        flags = FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK
        file_flags = os.O_RDONLY | os.O_LARGEFILE | os.O_CLOEXEC
        # Thread ids (Linux 4.20+), so /proc/<tid>/syscall is the thread that made the access.
        fd = _libc.fanotify_init(flags | FAN_REPORT_TID, file_flags)
        self.reports_tid = fd >= 0
        if fd < 0 and ctypes.get_errno() == errno.EINVAL:
            fd = _libc.fanotify_init(flags, file_flags)
        if fd < 0:
            raise _fail("fanotify_init(FAN_CLASS_CONTENT) (needs CAP_SYS_ADMIN and a kernel "
                        "with CONFIG_FANOTIFY_ACCESS_PERMISSIONS)")
        self.fd = fd

    def mark(self, path: str, mask: int, *, children: bool = True) -> None:
        """Hear `mask` events on `path` (and on its direct children when it is a directory
        and `children`)."""
        if children:
            mask |= FAN_EVENT_ON_CHILD
        if _libc.fanotify_mark(self.fd, FAN_MARK_ADD | FAN_MARK_DONT_FOLLOW, mask, AT_FDCWD,
                               os.fsencode(path)) < 0:
            raise _fail(f"fanotify_mark({path})")

    def unmark(self, path: str, mask: int) -> None:
        if _libc.fanotify_mark(self.fd, FAN_MARK_REMOVE | FAN_MARK_DONT_FOLLOW,
                               mask | FAN_EVENT_ON_CHILD, AT_FDCWD, os.fsencode(path)) < 0:
            raise _fail(f"fanotify_mark(remove {path})")

    def wait(self, timeout: float, wake_fd: int | None = None) -> bool:
        """Block until events are ready (True) or the timeout / a write on `wake_fd`."""
        fds = [self.fd] + ([wake_fd] if wake_fd is not None else [])
        ready, _, _ = select.select(fds, [], [], timeout)
        return self.fd in ready

    def read(self) -> list[Event]:
        """The events queued now (none when there are none)."""
        try:
            buffer = os.read(self.fd, 64 * 1024)
        except BlockingIOError:
            return []
        events = []
        offset = 0
        while offset + _METADATA.size <= len(buffer):
            length, version, _, _, mask, fd, pid = _METADATA.unpack_from(buffer, offset)
            if version != _VERSION or length < _METADATA.size:
                raise FanotifyError(errno.EPROTO, f"fanotify metadata version {version}")
            events.append(Event(mask=mask, fd=fd, pid=pid))
            offset += length
        return events

    def respond(self, event: Event, allow: bool) -> None:
        os.write(self.fd, _RESPONSE.pack(event.fd, FAN_ALLOW if allow else FAN_DENY))

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def unavailable() -> str | None:
    """Why fanotify permission events cannot be used here, or None when they can (tried, not
    guessed from the user id)."""
    try:
        Fanotify().close()
    except FanotifyError as exc:
        return str(exc)
    except AttributeError:
        return "this C library has no fanotify_init (not Linux?)"
    return None


def event_path(event: Event) -> str | None:
    """The accessed file's path, from the event's descriptor."""
    try:
        path = os.readlink(f"/proc/self/fd/{event.fd}")
    except OSError:
        return None
    return path.removesuffix(" (deleted)")
