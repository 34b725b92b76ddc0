"""Bins and their captured requests; each bin keeps only its newest `max_requests`."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from alertwire.domain.bins import BinResponse, BinSpec
from alertwire.errors import NotFound
from alertwire.store.db import writing
from alertwire.store.ids import ordered_id
from alertwire.store.paging import decode_cursor, encode_cursor
from alertwire.store.schema import bin_requests, bins


@dataclass(frozen=True)
class Bin:
    id: str
    name: str
    response: BinResponse
    max_requests: int
    created_at: float


@dataclass(frozen=True)
class CapturedRequest:
    id: str
    bin_id: str
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    size: int
    ip: str | None
    received_at: float


def _bin(m: Any) -> Bin:
    return Bin(
        id=m["id"], name=m["name"], max_requests=m["max_requests"], created_at=m["created_at"],
        # Validated when it was written; read back as it is, even under rules made since.
        response=BinResponse.model_construct(
            status=m["response_status"], body=m["response_body"],
            content_type=m["response_content_type"], headers=dict(m["response_headers"]),
            delay=m["response_delay"],
        ),
    )


def _request(m: Any) -> CapturedRequest:
    return CapturedRequest(
        id=m["id"], bin_id=m["bin_id"], method=m["method"], path=m["path"], query=m["query"],
        headers=[(str(n), str(v)) for n, v in m["headers"]], body=bytes(m["body"]),
        size=m["size"], ip=m["ip"], received_at=m["received_at"],
    )


def _response_values(response: BinResponse) -> dict[str, Any]:
    return {
        "response_status": response.status, "response_body": response.body,
        "response_content_type": response.content_type,
        "response_headers": response.headers, "response_delay": response.delay,
    }


class BinStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, spec: BinSpec) -> Bin:
        # 128 random bits: knowing a bin's URL is what lets anyone send to it.
        bin_id = "bin_" + secrets.token_hex(16)
        async with writing(self._engine) as conn:
            await conn.execute(bins.insert().values(
                id=bin_id, name=spec.name, max_requests=spec.max_requests,
                created_at=time.time(), **_response_values(spec.response),
            ))
        return await self.get(bin_id)

    async def get(self, bin_id: str) -> Bin:
        async with self._engine.connect() as conn:
            row = (await conn.execute(bins.select().where(bins.c.id == bin_id))).first()
        if row is None:
            raise NotFound(f"no bin with id {bin_id!r}")
        return _bin(row._mapping)

    async def all(self) -> list[Bin]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(bins.select().order_by(bins.c.created_at.desc()))
            return [_bin(r._mapping) for r in rows]

    async def find_by_name(self, name: str) -> Bin | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(
                bins.select().where(bins.c.name == name).order_by(bins.c.created_at).limit(1)
            )).first()
        return None if row is None else _bin(row._mapping)

    async def update(self, bin_id: str, spec: BinSpec) -> Bin:
        async with writing(self._engine) as conn:
            result = await conn.execute(bins.update().where(bins.c.id == bin_id).values(
                name=spec.name, max_requests=spec.max_requests, **_response_values(spec.response)
            ))
        if result.rowcount == 0:
            raise NotFound(f"no bin with id {bin_id!r}")
        return await self.get(bin_id)

    async def delete(self, bin_id: str) -> None:
        async with writing(self._engine) as conn:
            await conn.execute(bin_requests.delete().where(bin_requests.c.bin_id == bin_id))
            result = await conn.execute(bins.delete().where(bins.c.id == bin_id))
        if result.rowcount == 0:
            raise NotFound(f"no bin with id {bin_id!r}")

    async def capture(
        self, bin_id: str, *, method: str, path: str, query: str,
        headers: list[tuple[str, str]], body: bytes, ip: str | None, max_requests: int,
    ) -> CapturedRequest:
        """Record one request and drop the oldest beyond the bin's cap, in one transaction."""
        values = {
            "id": ordered_id("req"), "bin_id": bin_id, "method": method, "path": path,
            "query": query, "headers": [list(h) for h in headers], "body": body,
            "size": len(body), "ip": ip, "received_at": time.time(),
        }
        async with writing(self._engine) as conn:
            await conn.execute(bin_requests.insert().values(**values))
            oldest_kept = (
                sa.select(bin_requests.c.id).where(bin_requests.c.bin_id == bin_id)
                .order_by(bin_requests.c.id.desc()).offset(max_requests - 1).limit(1)
                .scalar_subquery()
            )
            await conn.execute(bin_requests.delete().where(
                bin_requests.c.bin_id == bin_id, bin_requests.c.id < oldest_kept
            ))
        return _request(values)

    async def requests(
        self, bin_id: str, *, limit: int = 50, cursor: str | None = None,
        after: str | None = None,
    ) -> tuple[list[CapturedRequest], str | None]:
        """Newest first; `after` instead gives those newer than a request id, oldest first
        (what a live stream sends next)."""
        query = bin_requests.select().where(bin_requests.c.bin_id == bin_id)
        if after is not None:
            query = query.where(bin_requests.c.id > after).order_by(bin_requests.c.id)
        else:
            query = query.order_by(bin_requests.c.id.desc())
        if cursor:
            (last,) = decode_cursor(cursor, 1)
            query = query.where(bin_requests.c.id < str(last))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.limit(limit + 1))).all()
        items = [_request(r._mapping) for r in rows[:limit]]
        more = len(rows) > limit and after is None
        return items, encode_cursor(items[-1].id) if more else None

    async def request(self, bin_id: str, request_id: str) -> CapturedRequest:
        async with self._engine.connect() as conn:
            row = (await conn.execute(bin_requests.select().where(
                bin_requests.c.bin_id == bin_id, bin_requests.c.id == request_id
            ))).first()
        if row is None:
            raise NotFound(f"no request {request_id!r} in bin {bin_id!r}")
        return _request(row._mapping)
