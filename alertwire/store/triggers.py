"""Triggers and the integrations they route to."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from alertwire.domain.crypto import new_id
from alertwire.domain.triggers import DIGEST_FREQUENCIES, Throttle, TriggerSpec
from alertwire.errors import Invalid, NotFound
from alertwire.store.db import writing
from alertwire.store.paging import decode_cursor, encode_cursor
from alertwire.store.schema import integrations, trigger_channels, triggers


@dataclass(frozen=True)
class Trigger:
    id: str
    name: str
    filter: str
    channels: list[str]
    frequency: str
    threat_level: str | None
    throttle: Throttle | None
    timezone: str
    enabled: bool
    created_at: float
    updated_at: float
    digest_sent_until: float | None = None

    def fields(self) -> dict[str, Any]:
        """The trigger as `TriggerSpec` fields: the base an edit changes."""
        return {
            "name": self.name, "filter": self.filter, "channels": list(self.channels),
            "frequency": self.frequency, "threat_level": self.threat_level,
            "throttle": None if self.throttle is None else self.throttle.model_dump(),
            "timezone": self.timezone, "enabled": self.enabled,
        }


@dataclass(frozen=True)
class Route:
    """An enabled trigger and the active integrations it delivers to."""

    trigger_id: str
    name: str
    filter: str
    threat_level: str | None
    throttle: Throttle | None
    frequency: str
    timezone: str
    digest_sent_until: float | None
    integration_ids: tuple[str, ...]


class TriggerStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _channels(self, conn: AsyncConnection, ids: list[str]) -> dict[str, list[str]]:
        if not ids:
            return {}
        rows = await conn.execute(
            sa.select(trigger_channels.c.trigger_id, trigger_channels.c.integration_id)
            .join(integrations, integrations.c.id == trigger_channels.c.integration_id)
            .where(trigger_channels.c.trigger_id.in_(ids))
            .order_by(integrations.c.name_key)
        )
        found: dict[str, list[str]] = {i: [] for i in ids}
        for trigger_id, integration_id in rows:
            found[trigger_id].append(integration_id)
        return found

    async def _check_channels(self, conn: AsyncConnection, channels: list[str]) -> None:
        known = set((await conn.execute(
            sa.select(integrations.c.id).where(integrations.c.id.in_(channels))
        )).scalars())
        missing = [c for c in channels if c not in known]
        if missing:
            raise Invalid(f"no integration with id {missing[0]!r}", field="channels")

    @staticmethod
    def _from_row(m: Any, channels: list[str]) -> Trigger:
        return Trigger(
            id=m["id"], name=m["name"], filter=m["filter"], channels=channels,
            frequency=m["frequency"], threat_level=m["threat_level"],
            throttle=None if m["throttle"] is None else Throttle.model_validate(m["throttle"]),
            timezone=m["timezone"], enabled=bool(m["enabled"]), created_at=m["created_at"],
            updated_at=m["updated_at"], digest_sent_until=m["digest_sent_until"],
        )

    @staticmethod
    def _values(spec: TriggerSpec, now: float) -> dict[str, Any]:
        return {
            "name": spec.name, "name_key": spec.name.lower(), "filter": spec.filter,
            "frequency": spec.frequency, "threat_level": spec.threat_level,
            "throttle": None if spec.throttle is None else spec.throttle.model_dump(),
            "timezone": spec.timezone, "enabled": spec.enabled, "updated_at": now,
        }

    async def create(self, spec: TriggerSpec) -> Trigger:
        now = time.time()
        trigger_id = new_id("trg")
        try:
            async with writing(self._engine) as conn:
                await self._check_channels(conn, spec.channels)
                await conn.execute(triggers.insert().values(
                    id=trigger_id, created_at=now, digest_sent_until=_digest_start(spec, now),
                    **self._values(spec, now),
                ))
                await conn.execute(trigger_channels.insert(), [
                    {"trigger_id": trigger_id, "integration_id": c} for c in spec.channels
                ])
        except IntegrityError:
            raise _duplicate(spec.name) from None
        return await self.get(trigger_id)

    async def get(self, trigger_id: str) -> Trigger:
        async with self._engine.connect() as conn:
            row = (await conn.execute(triggers.select().where(triggers.c.id == trigger_id))).first()
            if row is None:
                raise NotFound(f"no trigger with id {trigger_id!r}")
            channels = await self._channels(conn, [trigger_id])
        return self._from_row(row._mapping, channels[trigger_id])

    async def page(
        self, *, limit: int = 100, cursor: str | None = None, integration_id: str | None = None
    ) -> tuple[list[Trigger], str | None]:
        query = triggers.select().order_by(triggers.c.name_key, triggers.c.id)
        if cursor:
            name_key, last_id = decode_cursor(cursor, 2)
            query = query.where(sa.tuple_(triggers.c.name_key, triggers.c.id)
                                > sa.tuple_(sa.literal(name_key), sa.literal(last_id)))
        if integration_id:
            query = query.where(triggers.c.id.in_(
                sa.select(trigger_channels.c.trigger_id)
                .where(trigger_channels.c.integration_id == integration_id)
            ))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.limit(limit + 1))).all()
            channels = await self._channels(conn, [r.id for r in rows[:limit]])
        items = [self._from_row(r._mapping, channels[r.id]) for r in rows[:limit]]
        next_cursor = (
            encode_cursor(items[-1].name.lower(), items[-1].id) if len(rows) > limit else None
        )
        return items, next_cursor

    async def update(self, trigger_id: str, spec: TriggerSpec) -> Trigger:
        now = time.time()
        current = await self.get(trigger_id)
        values = self._values(spec, now)
        if spec.frequency != current.frequency or spec.timezone != current.timezone:
            values["digest_sent_until"] = _digest_start(spec, now)
        try:
            async with writing(self._engine) as conn:
                await self._check_channels(conn, spec.channels)
                result = await conn.execute(
                    triggers.update().where(triggers.c.id == trigger_id).values(**values)
                )
                if result.rowcount == 0:
                    raise NotFound(f"no trigger with id {trigger_id!r}")
                await conn.execute(
                    trigger_channels.delete().where(trigger_channels.c.trigger_id == trigger_id)
                )
                await conn.execute(trigger_channels.insert(), [
                    {"trigger_id": trigger_id, "integration_id": c} for c in spec.channels
                ])
        except IntegrityError:
            raise _duplicate(spec.name) from None
        return await self.get(trigger_id)

    async def delete(self, trigger_id: str) -> None:
        async with writing(self._engine) as conn:
            result = await conn.execute(triggers.delete().where(triggers.c.id == trigger_id))
        if result.rowcount == 0:
            raise NotFound(f"no trigger with id {trigger_id!r}")

    async def routes(self, conn: AsyncConnection, frequencies: tuple[str, ...]) -> list[Route]:
        """Enabled triggers of these frequencies with their active integrations (others
        receive nothing)."""
        rows = await conn.execute(_ROUTES, {"frequencies": frequencies})
        routes: dict[str, Route] = {}
        for row in rows:
            m = row._mapping
            route = routes.get(m["id"])
            ids = (route.integration_ids if route else ()) + (m["integration_id"],)
            routes[m["id"]] = Route(
                trigger_id=m["id"], name=m["name"], filter=m["filter"],
                threat_level=m["threat_level"],
                throttle=None if m["throttle"] is None else Throttle.model_validate(m["throttle"]),
                frequency=m["frequency"], timezone=m["timezone"],
                digest_sent_until=m["digest_sent_until"], integration_ids=ids,
            )
        return list(routes.values())


# Built once: every ingest transaction runs it, and building the expression costs more than
# SQLite takes to answer it.
_ROUTES = (
    sa.select(triggers, integrations.c.id.label("integration_id"))
    .join(trigger_channels, trigger_channels.c.trigger_id == triggers.c.id)
    .join(integrations, integrations.c.id == trigger_channels.c.integration_id)
    .where(triggers.c.enabled.is_(True),
           triggers.c.frequency.in_(sa.bindparam("frequencies", expanding=True)),
           integrations.c.status == "active")
    .order_by(triggers.c.id, integrations.c.id)
)


def _digest_start(spec: TriggerSpec, now: float) -> float | None:
    """A new digest trigger's first period is the current one, from now on."""
    return now if spec.frequency in DIGEST_FREQUENCIES else None


def _duplicate(name: str) -> Invalid:
    return Invalid(f"a trigger named {name!r} already exists (names are case-insensitive)",
                   field="name")
