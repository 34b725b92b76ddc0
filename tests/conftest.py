"""Shared fixtures: real SQLite and PostgreSQL stores, a running app, loopback HTTP servers."""

from __future__ import annotations

import io
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from alertwire.api.app import create_app
from alertwire.domain.crypto import Cipher
from alertwire.domain.ssrf import parse_allowed_targets
from alertwire.settings import Settings
from alertwire.store import Store
from alertwire.store.schema import metadata
from tests.fixtures import FIXTURES, fixture_files
from tests.receiver import Receiver

__all__ = ["FIXTURES", "fixture_files"]

PG_ADMIN_URL = os.environ.get("ALERTWIRE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN_TOKEN = "aw_test_admin_token"


@asynccontextmanager
async def fresh_pg_database() -> AsyncIterator[str]:
    """A new, empty database on the machine's PostgreSQL, dropped afterwards."""
    name = f"aw_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The store suite runs once per database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'alertwire.db'}"
        return
    async with fresh_pg_database() as url:
        yield url


def make_settings(tmp_path: Path, database_url: str | None = None, **changes: Any) -> Settings:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        secret_key="test-secret-key",
        allowed_targets=parse_allowed_targets("127.0.0.0/8,::1"),
        delivery_timeout=2.0,
    )
    return settings.with_overrides(**changes)


@pytest.fixture
async def store(database_url: str, tmp_path: Path) -> AsyncIterator[Store]:
    settings = make_settings(tmp_path, database_url)
    opened = await Store.open(settings.sqlalchemy_url, Cipher("test-secret-key"))
    try:
        yield opened
    finally:
        await opened.close()


class AppHarness:
    """A started app (lifespan run) and an API client authenticated as admin."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def services(self) -> Any:
        return self.app.state.services


async def start_app(settings: Settings) -> AsyncIterator[AppHarness]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://alertwire.test",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30,
        ) as client:
            yield AppHarness(app, client)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[AppHarness]:
    """The app on SQLite in a temporary data directory."""
    async for harness in start_app(make_settings(tmp_path)):
        yield harness


async def raw_dump(store: Store) -> str:
    """Every row of every table as text: to prove secrets are not stored in clear."""
    parts: list[str] = []
    async with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(sa.select(table)):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A buffer for a test to configure logging into; the logging set-up is restored after."""
    root, ours = logging.getLogger(), logging.getLogger("alertwire")
    saved = (list(root.handlers), root.level, ours.level)
    stream = io.StringIO()
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        ours.setLevel(saved[2])
