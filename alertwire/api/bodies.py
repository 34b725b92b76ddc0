"""Reading request bodies with a size limit, refusing early with a clear 413."""

from __future__ import annotations

from fastapi import Request

from alertwire.errors import TooLarge


async def read_limited(request: Request, limit: int, what: str) -> bytes:
    """The whole body, or TooLarge as soon as it is known to exceed `limit` bytes."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise TooLarge(f"body is {length} bytes; the limit is {limit} bytes ({what})")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body is over the limit of {limit} bytes ({what})")
        chunks.append(chunk)
    return b"".join(chunks)
