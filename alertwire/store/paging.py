"""Opaque list cursors: the sort key of the last item a page returned."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from alertwire.errors import Invalid

T = TypeVar("T")


def encode_cursor(*parts: str | float) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str | float]:
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        parts = None
    if (
        not isinstance(parts, list)
        or len(parts) != size
        or not all(isinstance(p, str | int | float) for p in parts)
    ):
        raise Invalid("cursor is not one this server issued", field="cursor")
    return parts


async def every(page: Callable[..., Awaitable[tuple[list[T], str | None]]],
                size: int = 500) -> list[T]:
    """All items of a paged listing (`store.integrations.page`, `store.triggers.page`)."""
    items, cursor = await page(limit=size)
    while cursor is not None:
        more, cursor = await page(limit=size, cursor=cursor)
        items += more
    return items
