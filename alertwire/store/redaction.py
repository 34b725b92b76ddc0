"""The deployment's redaction rules (SPEC §8), kept in `settings` under `redaction_rules`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from alertwire.domain.redaction import RedactionRule, Redactor, redactor_for, use_for_logs
from alertwire.store.db import writing
from alertwire.store.schema import settings

KEY = "redaction_rules"
# Every delivery needs the rules, so they are remembered this long: a change applies at once
# in the process that made it and within this many seconds in other processes.
RULES_CACHE_SECONDS = 2.0
_READ = sa.select(settings.c.value).where(settings.c.key == KEY)


class RedactionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._cached: tuple[float, tuple[RedactionRule, ...]] | None = None
        self._reading: asyncio.Future[tuple[RedactionRule, ...]] | None = None

    async def rules(self) -> tuple[RedactionRule, ...]:
        """The deployment's rules. Raises when the database cannot be read: a delivery then
        waits (its lease ends, it is tried again) rather than leave unredacted."""
        cached = self._cached
        if cached is not None and time.monotonic() - cached[0] < RULES_CACHE_SECONDS:
            return cached[1]
        # Deliveries that find the rules stale together share one read (not one connection
        # each, which a batch of hundreds would take from the pool at once).
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read())
            self._reading.add_done_callback(self._read_done)
        return await asyncio.shield(self._reading)

    def _read_done(self, _: asyncio.Future[tuple[RedactionRule, ...]]) -> None:
        self._reading = None

    async def _read(self) -> tuple[RedactionRule, ...]:
        read_at = time.monotonic()
        async with self._engine.connect() as conn:
            value = await conn.scalar(_READ)
        rules = tuple(RedactionRule.model_validate(r) for r in value or ())
        self._remember(read_at, rules)
        return rules

    async def redactor(self, own: Sequence[RedactionRule] = ()) -> Redactor:
        """What applies to what an integration sends: the defaults, the deployment's rules
        and the integration's `own`."""
        return redactor_for((*await self.rules(), *own))

    async def replace(self, rules: Sequence[RedactionRule]) -> tuple[RedactionRule, ...]:
        value = [r.model_dump() for r in rules]
        now = time.time()
        insert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(settings).values(key=KEY, value=value, updated_at=now)
        async with writing(self._engine) as conn:
            await conn.execute(statement.on_conflict_do_update(
                index_elements=[settings.c.key], set_={"value": value, "updated_at": now}))
        self._remember(time.monotonic(), tuple(rules))
        return tuple(rules)

    def _remember(self, read_at: float, rules: tuple[RedactionRule, ...]) -> None:
        if self._cached is not None and self._cached[0] > read_at:
            return  # a read that started before a newer write or read: stale
        if self._cached is None or self._cached[1] != rules:
            use_for_logs(rules)  # log lines are masked with the same expressions
        self._cached = (read_at, rules)
