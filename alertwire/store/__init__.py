"""The one place that talks SQL: SQLite or PostgreSQL behind one interface."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from alertwire.domain.crypto import Cipher
from alertwire.store import digests, throttles
from alertwire.store.alerts import AlertStore, StoredAlert
from alertwire.store.bins import Bin, BinStore, CapturedRequest
from alertwire.store.db import create_engine, database_revision, head_revision, migrate
from alertwire.store.deliveries import Delivery, DeliveryStore
from alertwire.store.integrations import Integration, IntegrationStore, TestRecord
from alertwire.store.redaction import RedactionStore
from alertwire.store.silences import Silence, SilenceStore
from alertwire.store.tokens import ApiToken, TokenStore
from alertwire.store.triggers import Trigger, TriggerStore

__all__ = [
    "ApiToken", "Bin", "CapturedRequest", "Delivery", "Integration", "Silence", "Store",
    "StoredAlert", "TestRecord", "Trigger",
]


class Store:
    def __init__(
        self, engine: AsyncEngine, cipher: Cipher, *, auto_disable_after: float = 5 * 86400,
        circuit_cooldown: float = 30.0,
    ) -> None:
        self.engine = engine
        self.tokens = TokenStore(engine)
        self.integrations = IntegrationStore(engine, cipher)
        self.triggers = TriggerStore(engine)
        self.alerts = AlertStore(engine, self.triggers)
        self.deliveries = DeliveryStore(engine, auto_disable_after, circuit_cooldown)
        self.bins = BinStore(engine)
        self.silences = SilenceStore(engine)
        self.redaction = RedactionStore(engine)

    @classmethod
    async def open(
        cls, url: str, cipher: Cipher, *, auto_disable_after: float = 5 * 86400,
        circuit_cooldown: float = 30.0,
    ) -> Store:
        """Connect and apply every pending migration."""
        engine = create_engine(url)
        await migrate(engine)
        return cls(engine, cipher, auto_disable_after=auto_disable_after,
                   circuit_cooldown=circuit_cooldown)

    async def flush_throttles(self, now: float | None = None) -> int:
        """Send the held-back count of every throttle group whose period is over."""
        async with self.engine.connect() as conn:
            routes = await self.triggers.routes(conn, ("realtime",))
        return len(await throttles.flush(self.engine, routes, now))

    async def send_due_digests(self, now: float | None = None) -> int:
        return await digests.send_due(self.engine, self.triggers, self.alerts, now)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def migration_state(self) -> tuple[str | None, str]:
        """(the database's migration revision, the newest one this code knows)."""
        return await database_revision(self.engine), head_revision()

    async def close(self) -> None:
        await self.engine.dispose()
