"""The `custom` template's Jinja2 sandbox: what a template may touch, and how long and how
large it may render.

- Attribute access: `ImmutableSandboxedEnvironment` refuses internals (`__class__`,
  `_TemplateReference__context`, `mro`, …) and mutating methods; here an unsafe access is an
  error at once rather than an empty string, and the classic escapes are refused already when
  the template is saved. Templates cannot include, import or extend others.
- Time and memory: rendering runs in a child process (one, reused). Inside it a trace
  function stops the template at its deadline and reports the line it was on; its address
  space is capped, so a memory bomb (`'x' * 10**10`) fails there; and if it still does not
  answer in time (a single C-level operation), the parent kills it and starts another. This is
  the one module of `domain/` that runs a process: nothing in-process can stop both loops and
  C-level work.
- Output: at most `MAX_OUTPUT` bytes, counted while rendering.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from functools import lru_cache
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any, NoReturn

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from alertwire.domain.templates._base import TemplateRenderError
from alertwire.domain.templates._text import dumps

MAX_SOURCE = 64 * 1024
RENDER_TIMEOUT = 1.0
MAX_OUTPUT = 256 * 1024
MEMORY_HEADROOM = 512 * 1024 * 1024
KILL_GRACE = 0.5  # after the deadline, before the parent kills a child that does not answer
START_TIMEOUT = 30.0
TEMPLATE_FILENAME = "<template>"
OUT_OF_MEMORY = "rendering ran out of memory"


class _Environment(ImmutableSandboxedEnvironment):
    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        raise SecurityError(
            f"access to attribute {attribute!r} of a {type(obj).__name__} is not allowed")


def _tojson(value: Any, indent: int | None = None) -> str:
    """JSON for a JSON body (not HTML-escaped, unlike Jinja's own `tojson`)."""
    if indent is not None and not (isinstance(indent, int) and 0 <= indent <= 8):
        raise ValueError("tojson: indent must be a number from 0 to 8")
    return dumps(None if isinstance(value, Undefined) else value, indent=indent)


@lru_cache(maxsize=1)
def environment() -> _Environment:
    # Chainable: `alert.output_fields.x` is empty for a KubeArmor alert rather than an error,
    # so one template can serve alerts of every shape.
    env = _Environment(autoescape=False, keep_trailing_newline=True,
                       undefined=ChainableUndefined)
    env.filters["tojson"] = _tojson
    return env


def _refuse(node: nodes.Node, message: str) -> NoReturn:
    raise TemplateRenderError(message, node.lineno)


def _is_internal(name: object) -> bool:
    return isinstance(name, str) and "__" in name


def _static_check(ast: nodes.Template) -> None:
    """Refuse, at save time and with the line, what the sandbox would refuse when rendering.
    (`alert._id` stays allowed: it reads the alert's `_id` field.)"""
    for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Extends,
                              nodes.Include, nodes.Import, nodes.FromImport)):
        if isinstance(node, nodes.Extends | nodes.Include | nodes.Import | nodes.FromImport):
            _refuse(node, "a template cannot include, import or extend other templates")
        if isinstance(node, nodes.Getattr) and _is_internal(node.attr):
            _refuse(node, f"access to {node.attr!r} is not allowed (internals are off limits)")
        if (isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const)
                and _is_internal(node.arg.value)):
            _refuse(node, f"access to {node.arg.value!r} is not allowed (internals are off "
                          "limits)")
        if (isinstance(node, nodes.Filter) and node.name == "attr" and node.args
                and isinstance(node.args[0], nodes.Const) and _is_internal(node.args[0].value)):
            _refuse(node, f"access to {node.args[0].value!r} is not allowed (internals are "
                          "off limits)")


def parse_check(source: str) -> None:
    """Size, syntax and the static checks, without compiling: compiling folds constant
    expressions (`{{ 'x'|center(9999999999) }}` runs then), so only the child compiles."""
    if len(source.encode("utf-8", "replace")) > MAX_SOURCE:
        raise TemplateRenderError(f"the template is larger than {MAX_SOURCE} bytes")
    try:
        ast = environment().parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateRenderError(exc.message or "syntax error", exc.lineno) from None
    _static_check(ast)


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return environment().from_string(source)


class SandboxUnavailable(TemplateRenderError):
    """The sandbox process could not be started or died: not the template's fault."""


class _Timeout(Exception):
    """Raised by the trace function inside the template's own frames."""


def _template_line(tb: TracebackType | None) -> int | None:
    """The template line of the innermost template frame (Jinja rewrites tracebacks so that
    template frames carry the template's file name and line)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_here(source: str, context: dict[str, Any], *, timeout: float = RENDER_TIMEOUT,
                max_output: int = MAX_OUTPUT, compile_only: bool = False) -> str:
    """Compile and render in this process, stopping at the deadline. Only the sandbox child
    calls this; everything else calls `check` and `render`."""
    deadline = time.monotonic() + timeout

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise _Timeout
        return tracer

    parts: list[str] = []
    size = 0
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        template = _compiled(source)
        if compile_only:
            return ""
        for chunk in template.generate(context):
            size += len(chunk.encode("utf-8", "replace"))
            if size > max_output:
                raise TemplateRenderError(
                    f"the output is larger than the limit of {max_output} bytes")
            parts.append(chunk)
    except TemplateRenderError:
        raise
    except TemplateSyntaxError as exc:  # found while compiling: an unknown filter, …
        raise TemplateRenderError(exc.message or "syntax error", exc.lineno) from None
    except _Timeout as exc:
        raise TemplateRenderError(f"rendering took longer than {timeout:g} s and was stopped",
                                  _template_line(exc.__traceback__)) from None
    except MemoryError as exc:
        raise TemplateRenderError(OUT_OF_MEMORY,
                                  _template_line(exc.__traceback__)) from None
    except RecursionError as exc:
        raise TemplateRenderError("recursion too deep",
                                  _template_line(exc.__traceback__)) from None
    except SecurityError as exc:
        raise TemplateRenderError(f"refused by the sandbox: {exc}",
                                  _template_line(exc.__traceback__)) from None
    except Exception as exc:
        raise TemplateRenderError(f"{type(exc).__name__}: {exc}",
                                  _template_line(exc.__traceback__)) from None
    finally:
        sys.settrace(previous)
    return "".join(parts)


# ------------------------------------------------------------------------- the child process

def _limit_memory() -> None:
    """Cap the child's address space at what it uses now plus MEMORY_HEADROOM (Linux)."""
    try:
        import resource

        with open("/proc/self/status") as status:
            vm = next(int(line.split()[1]) * 1024 for line in status
                      if line.startswith("VmSize:"))
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = vm + MEMORY_HEADROOM
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, StopIteration, ValueError):
        pass  # no cap where the platform cannot set one; the time limit still holds


def child_main() -> None:
    """One JSON request per line on stdin, one JSON reply per line on stdout."""
    _limit_memory()
    out = sys.stdout.buffer
    out.write(b'{"ready": true}\n')
    out.flush()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        reply: dict[str, Any]
        try:
            output = render_here(request["source"], request["context"],
                                 timeout=request["timeout"], max_output=request["max_output"],
                                 compile_only=request["compile_only"])
            reply = {"ok": True, "output": output}
        except TemplateRenderError as exc:
            # After running out of memory the process may be damaged: start afresh.
            reply = {"ok": False, "message": exc.message, "line": exc.line,
                     "restart": exc.message == OUT_OF_MEMORY}
        out.write(json.dumps(reply).encode() + b"\n")
        out.flush()
        if reply.get("restart"):
            return


_CHILD_CODE = "from alertwire.domain.templates._sandbox import child_main; child_main()"


class SandboxProcess:
    """The parent's handle on the child: one render at a time, restarted when needed."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._buffer = b""
        self._lock = threading.Lock()
        self._atexit = False

    def _spawn(self) -> subprocess.Popen[bytes]:
        package_root = str(Path(__file__).resolve().parents[3])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, bufsize=0,
        )
        self._ready = False
        self._buffer = b""
        if not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        return self._proc

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()

    def _read_line(self, stream: IO[bytes], deadline: float) -> bytes | None:
        """One line, or None if none came by the deadline; EOFError if the child is gone."""
        fd = stream.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _ready_process(self) -> subprocess.Popen[bytes]:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            self.stop()
            proc = self._spawn()
        if not self._ready:
            assert proc.stdout is not None
            if self._read_line(proc.stdout, time.monotonic() + START_TIMEOUT) is None:
                raise SandboxUnavailable("the template sandbox did not start")
            self._ready = True
        return proc

    def render(self, source: str, context: dict[str, Any], timeout: float,
               max_output: int, compile_only: bool = False) -> str:
        request = json.dumps({"source": source, "context": context, "timeout": timeout,
                              "max_output": max_output, "compile_only": compile_only}
                             ).encode() + b"\n"
        with self._lock:
            for attempt in (1, 2):  # a child that died since the last render is replaced once
                try:
                    proc = self._ready_process()
                    assert proc.stdin is not None and proc.stdout is not None
                    view = memoryview(request)
                    while view:  # an unbuffered pipe may take a large request in parts
                        view = view[os.write(proc.stdin.fileno(), view):]
                    line = self._read_line(proc.stdout, time.monotonic() + timeout + KILL_GRACE)
                except (OSError, EOFError):
                    self.stop()
                    if attempt == 2:
                        raise SandboxUnavailable("the template sandbox stopped unexpectedly")\
                            from None
                    continue
                if line is None:
                    self.stop()
                    self._spawn()  # warm a replacement while nobody waits for it
                    raise TemplateRenderError(
                        f"rendering took longer than {timeout:g} s and was stopped")
                reply = json.loads(line)
                if reply.get("restart"):
                    self.stop()
                if reply["ok"]:
                    return str(reply["output"])
                raise TemplateRenderError(str(reply["message"]), reply.get("line"))
        raise AssertionError("unreachable")


_sandbox = SandboxProcess()


@lru_cache(maxsize=256)
def check(source: str) -> bool:
    """True, or TemplateRenderError naming the line of the first problem: syntax, internals,
    unknown filters (the child compiles the template, within the time limit)."""
    parse_check(source)
    try:
        _sandbox.render(source, {}, RENDER_TIMEOUT, MAX_OUTPUT, compile_only=True)
    except SandboxUnavailable:
        # Not the template's fault: keep what parsing checked. Should it not compile, each
        # delivery falls back to the alert as received, saying why.
        pass
    return True


def render(source: str, context: dict[str, Any], *, timeout: float = RENDER_TIMEOUT,
           max_output: int = MAX_OUTPUT) -> str:
    """Render `source` with `context` (JSON values) in the sandbox process."""
    parse_check(source)  # syntax problems answer at once, without a round trip
    return _sandbox.render(source, context, timeout, max_output)
