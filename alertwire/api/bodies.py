"""Reading request bodies with a size limit, refusing early with a clear 413."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alertwire.api.errors import error_body
from alertwire.errors import TooLarge


def announced_over(headers: Headers, limit: int) -> int | None:
    """The body's Content-Length when it announces more than `limit` bytes, else None."""
    length = headers.get("content-length")
    return int(length) if length and length.isdigit() and int(length) > limit else None


async def read_limited(request: Request, limit: int, what: str) -> bytes:
    """The whole body, or TooLarge as soon as it is known to exceed `limit` bytes."""
    length = announced_over(request.headers, limit)
    if length is not None:
        raise TooLarge(f"body is {length} bytes; the limit is {limit} bytes ({what})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body is over the limit of {limit} bytes ({what})")
        chunks.append(chunk)
    return b"".join(chunks)


class BufferedBody:
    """A request body read from ASGI messages until its end or until it is over `limit`
    bytes; `replay` hands the same messages on, then whatever the client sends next."""

    def __init__(self, messages: list[Message], size: int, receive: Receive) -> None:
        self.messages = messages
        self.size = size
        self._receive = receive

    @classmethod
    async def read(cls, receive: Receive, limit: int) -> BufferedBody:
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > limit or message["type"] != "http.request" \
                    or not message.get("more_body", False):
                return cls(messages, size, receive)

    @property
    def complete(self) -> bool:
        """Whether the whole body arrived (not a disconnect midway)."""
        last = self.messages[-1]
        return last["type"] == "http.request" and not last.get("more_body", False)

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages)

    async def replay(self) -> Message:
        return self.messages.pop(0) if self.messages else await self._receive()


# JSON bodies of the API other than alerts (which take up to 10 MiB, `read_limited`): an
# integration, a trigger, a configuration document, a drill or a preview.
API_BODY_LIMIT = 1024 * 1024
_OWN_LIMITS = ("/api/v1/alerts",)


class ApiBodyLimit:
    """Refuse an API request whose body is over `API_BODY_LIMIT` with a 413 in the error
    shape, before any of it is parsed (ASGI middleware). A body without Content-Length is
    read up to the limit, then handed on whole."""

    def __init__(self, app: ASGIApp, limit: int = API_BODY_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or path in _OWN_LIMITS:
            await self.app(scope, receive, send)
            return
        length = announced_over(Headers(scope=scope), self.limit)
        if length is not None:
            await self._refuse(f"body is {length} bytes", scope, receive, send)
            return
        buffered = await BufferedBody.read(receive, self.limit)
        if buffered.size > self.limit:
            await self._refuse("body is over the limit", scope, receive, send)
            return
        await self.app(scope, buffered.replay, send)

    async def _refuse(self, what: str, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(error_body(
            "too_large", f"{what}; the limit is {self.limit} bytes ({self.limit / 1048576:g} MiB) for "
            "this operation"),
            status_code=413)
        await response(scope, receive, send)
