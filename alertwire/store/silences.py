"""Silences: windows during which matching alerts are stored and counted, not delivered."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from alertwire.domain.crypto import new_id
from alertwire.domain.silences import ActiveSilence, SilenceSpec
from alertwire.errors import Invalid, NotFound
from alertwire.store.db import writing
from alertwire.store.schema import silences


@dataclass(frozen=True)
class Silence:
    id: str
    comment: str
    filter: str | None
    starts_at: float
    ends_at: float
    matched_count: int
    created_at: float


def _silence(m: Any) -> Silence:
    return Silence(id=m["id"], comment=m["comment"], filter=m["filter"],
                   starts_at=m["starts_at"], ends_at=m["ends_at"],
                   matched_count=m["matched_count"], created_at=m["created_at"])


class SilenceStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, spec: SilenceSpec) -> Silence:
        now = time.time()
        try:
            starts_at, ends_at = spec.window(now)
        except ValueError as exc:
            raise Invalid(str(exc), field="ends_at") from None
        silence_id = new_id("sil")
        async with writing(self._engine) as conn:
            await conn.execute(silences.insert().values(
                id=silence_id, comment=spec.comment, filter=spec.filter, starts_at=starts_at,
                ends_at=ends_at, matched_count=0, created_at=now,
            ))
        return await self.get(silence_id)

    async def get(self, silence_id: str) -> Silence:
        async with self._engine.connect() as conn:
            row = (await conn.execute(
                silences.select().where(silences.c.id == silence_id))).first()
        if row is None:
            raise NotFound(f"no silence with id {silence_id!r}")
        return _silence(row._mapping)

    async def all(self) -> list[Silence]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(silences.select().order_by(silences.c.ends_at.desc()))
            return [_silence(r._mapping) for r in rows]

    async def expire(self, silence_id: str) -> Silence:
        """End a silence now (kept, with its count, for the record)."""
        current = await self.get(silence_id)
        async with writing(self._engine) as conn:
            await conn.execute(silences.update().where(silences.c.id == silence_id)
                               .values(ends_at=min(current.ends_at, time.time())))
        return await self.get(silence_id)

    async def delete(self, silence_id: str) -> None:
        async with writing(self._engine) as conn:
            result = await conn.execute(silences.delete().where(silences.c.id == silence_id))
        if result.rowcount == 0:
            raise NotFound(f"no silence with id {silence_id!r}")

    @staticmethod
    async def active(conn: AsyncConnection, now: float) -> list[ActiveSilence]:
        rows = await conn.execute(_ACTIVE, {"now": now})
        return [ActiveSilence.compile(r.id, r.filter) for r in rows]

    @staticmethod
    async def count(conn: AsyncConnection, matched: Counter[str]) -> None:
        for silence_id, n in matched.items():
            await conn.execute(silences.update().where(silences.c.id == silence_id)
                               .values(matched_count=silences.c.matched_count + n))


# Built once: every ingest transaction runs it.
_ACTIVE = sa.select(silences.c.id, silences.c.filter).where(
    silences.c.starts_at <= sa.bindparam("now"), silences.c.ends_at > sa.bindparam("now"))
