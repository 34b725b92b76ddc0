"""What commands print: JSON for machines (`--json`), aligned tables for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import typer

MAX_CELL = 60


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def emit(value: Any, as_json: bool, text: str) -> None:
    """A command's answer: `value` as JSON with `--json`, else `text` for people."""
    if as_json:
        emit_json(value)
    else:
        typer.echo(text)


def cell(value: Any, width: int = MAX_CELL) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())  # one line per row
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], width: int = MAX_CELL) -> str:
    """Columns aligned to their widest cell; cells longer than `width` cut with `…`."""
    cells = [[cell(v, width) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
              for r in cells]
    return "\n".join(lines)


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str,
               width: int = MAX_CELL) -> None:
    typer.echo(table(headers, rows, width) if rows else empty)


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """`name: value` lines, names aligned."""
    width = max(len(name) for name, _ in pairs)
    return "\n".join(f"{(name + ':').ljust(width + 1)} {cell(value, 200)}" for name, value in pairs)


def when(stamp: str | None) -> str:
    """An API time (`2026-01-02T03:04:05.678Z`) as `2026-01-02 03:04:05` (UTC)."""
    if not stamp:
        return "-"
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp
