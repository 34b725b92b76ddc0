"""Opaque list cursors: the sort key of the last item a page returned."""

from __future__ import annotations

import base64
import json

from alertwire.errors import Invalid


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
