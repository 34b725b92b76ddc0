"""The store on both databases: migrations, integrations, tests, secrets at rest."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest
import sqlalchemy as sa

from alertwire.domain.crypto import Cipher
from alertwire.domain.integrations import IntegrationCreate
from alertwire.errors import Conflict, Invalid, NotFound
from alertwire.settings import Settings
from alertwire.store import Store
from alertwire.store.db import create_engine
from alertwire.store.schema import trigger_channels, triggers
from tests.conftest import raw_dump
from tests.fixtures import REPO


def spec(name: str = "SIEM", **changes: object) -> IntegrationCreate:
    data: dict[str, object] = {
        "name": name, "url": "https://siem.example.com/ingest",
        "headers": {"Authorization": "Bearer super-secret-token-42", "X-Team": "sec"},
    }
    return IntegrationCreate.model_validate(data | changes)


async def add_trigger(store: Store, name: str, integration_id: str) -> None:
    now = time.time()
    async with store.engine.begin() as conn:
        await conn.execute(triggers.insert().values(
            id=f"trg_{name}", name=name, name_key=name.lower(), filter="Action = Block",
            frequency="realtime", enabled=True, created_at=now, updated_at=now,
        ))
        await conn.execute(trigger_channels.insert().values(
            trigger_id=f"trg_{name}", integration_id=integration_id
        ))


async def test_migrations_create_every_table(store: Store) -> None:
    """Opening a store applies the migrations: every table of the schema exists."""
    async with store.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert {"api_tokens", "integrations", "integration_tests", "triggers",
            "trigger_channels", "alembic_version"} <= names


async def test_sqlite_runs_in_wal_mode(tmp_path: pytest.TempPathFactory) -> None:
    """The embedded database uses WAL so the API reads while workers write."""
    url = Settings(data_dir=tmp_path).sqlalchemy_url  # type: ignore[arg-type]
    opened = await Store.open(url, Cipher("k"))
    try:
        async with opened.engine.connect() as conn:
            mode = (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar_one()
        assert mode == "wal"
    finally:
        await opened.close()


async def test_concurrent_migrations_are_safe(database_url: str) -> None:
    """Four processes starting at once all end up on the newest schema, without errors."""
    url = Settings(database_url=database_url).sqlalchemy_url
    script = (
        "import asyncio, sys\n"
        "from alertwire.store.db import create_engine, migrate\n"
        "async def main():\n"
        "    engine = create_engine(sys.argv[1])\n"
        "    await migrate(engine)\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, url, cwd=REPO,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    outputs = [await p.communicate() for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], outputs
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            versions = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).all()
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert len(versions) == 1
        assert {"integrations", "deliveries"} <= tables
    finally:
        await engine.dispose()


async def test_create_and_read_back(store: Store) -> None:
    """An integration reads back as created, starting as a draft with a whsec_ secret."""
    created = await store.integrations.create(spec(test_payload={"hello": [1, 2]}))
    again = await store.integrations.get(created.id)
    assert again == created
    assert again.status == "draft"
    assert again.headers == {"Authorization": "Bearer super-secret-token-42", "X-Team": "sec"}
    assert again.test_payload == {"hello": [1, 2]}
    assert again.secret.startswith("whsec_")


async def test_secrets_are_encrypted_at_rest(store: Store) -> None:
    """Neither header values nor the signing secret appear anywhere in the raw database."""
    created = await store.integrations.create(spec())
    rotated = await store.integrations.rotate_secret(created.id)
    dump = await raw_dump(store)
    assert "super-secret-token-42" not in dump
    assert created.secret.removeprefix("whsec_") not in dump
    assert rotated.secret.removeprefix("whsec_") not in dump
    assert "siem.example.com" in dump  # the dump does hold the rows


async def test_names_are_unique_case_insensitively(store: Store) -> None:
    """A second integration named like the first, in any case, is refused on `name`."""
    await store.integrations.create(spec("Slack Alerts"))
    with pytest.raises(Invalid) as info:
        await store.integrations.create(spec("slack alerts"))
    assert info.value.field == "name"
    other = await store.integrations.create(spec("Other"))
    with pytest.raises(Invalid):
        await store.integrations.update(other.id, spec("SLACK ALERTS"))


async def test_list_search_status_and_paging(store: Store) -> None:
    """Lists filter by text and status and page with a cursor, in name order."""
    for i in range(5):
        await store.integrations.create(spec(f"hook-{i}", description=f"team {i % 2}"))
    first = await store.integrations.create(spec("Jira tickets"))
    await store.integrations.set_status(first.id, "active")
    items, cursor = await store.integrations.page(limit=4)
    assert [i.name for i in items] == ["hook-0", "hook-1", "hook-2", "hook-3"]
    assert cursor is not None
    rest, last_cursor = await store.integrations.page(limit=4, cursor=cursor)
    assert [i.name for i in rest] == ["hook-4", "Jira tickets"]
    assert last_cursor is None
    found, _ = await store.integrations.page(search="JIRA")
    assert [i.name for i in found] == ["Jira tickets"]
    found, _ = await store.integrations.page(search="team 1")
    assert [i.name for i in found] == ["hook-1", "hook-3"]
    active, _ = await store.integrations.page(status="active")
    assert [i.name for i in active] == ["Jira tickets"]
    with pytest.raises(Invalid):
        await store.integrations.page(cursor="garbage!")


async def test_search_treats_wildcards_literally(store: Store) -> None:
    """`%` and `_` in a search are plain characters, not SQL wildcards."""
    await store.integrations.create(spec("a_b"))
    await store.integrations.create(spec("axb"))
    found, _ = await store.integrations.page(search="a_b")
    assert [i.name for i in found] == ["a_b"]


async def test_delete_refused_while_a_trigger_uses_it(store: Store) -> None:
    """Delete is a conflict naming the trigger, unless forced; forcing removes the channel."""
    created = await store.integrations.create(spec())
    await add_trigger(store, "blocks", created.id)
    with pytest.raises(Conflict) as info:
        await store.integrations.delete(created.id)
    assert "blocks" in info.value.message
    await store.integrations.delete(created.id, force=True)
    with pytest.raises(NotFound):
        await store.integrations.get(created.id)
    async with store.engine.connect() as conn:
        left = (await conn.execute(sa.select(trigger_channels))).all()
    assert left == []


async def test_latest_test_is_the_newest(store: Store) -> None:
    """Connect looks at the newest test only."""
    created = await store.integrations.create(spec())
    await store.integrations.record_test(created.id, "fp-a", True, {"ok": True})
    await asyncio.sleep(0.01)
    await store.integrations.record_test(created.id, "fp-b", False, {"ok": False})
    latest = await store.integrations.latest_test(created.id)
    assert latest is not None and latest.config_fingerprint == "fp-b" and not latest.ok


async def test_rotation_keeps_the_old_secret_signing_for_a_while(store: Store) -> None:
    """After rotation both secrets sign until the overlap ends."""
    created = await store.integrations.create(spec())
    rotated = await store.integrations.rotate_secret(created.id)
    assert rotated.secret != created.secret
    assert rotated.signing_secrets(time.time()) == [rotated.secret, created.secret]
    assert rotated.signing_secrets(time.time() + 2 * 86400) == [rotated.secret]


async def test_fallback_must_exist(store: Store) -> None:
    """A fallback names an existing integration other than itself."""
    with pytest.raises(Invalid) as info:
        await store.integrations.create(spec(fallback="itg_missing"))
    assert info.value.field == "fallback"
    main = await store.integrations.create(spec("main"))
    backup = await store.integrations.create(spec("backup", fallback=main.id))
    assert backup.fallback_id == main.id
    with pytest.raises(Invalid):
        await store.integrations.update(main.id, spec("main", fallback=main.id))


async def test_fallback_cycles_are_refused(store: Store) -> None:
    """SPEC §5: A → B → C → A is refused (422 `fallback`) whichever edit would close it;
    chains that end are fine."""
    a = await store.integrations.create(spec("a"))
    b = await store.integrations.create(spec("b", fallback=a.id))
    c = await store.integrations.create(spec("c", fallback=b.id))
    with pytest.raises(Invalid) as info:
        await store.integrations.update(a.id, spec("a", fallback=b.id))  # a → b → a
    assert info.value.field == "fallback" and "cycle" in str(info.value)
    with pytest.raises(Invalid):
        await store.integrations.update(a.id, spec("a", fallback=c.id))  # a → c → b → a
    d = await store.integrations.create(spec("d"))
    assert (await store.integrations.update(a.id, spec("a", fallback=d.id))).fallback_id == d.id


async def test_tokens_are_stored_hashed(store: Store) -> None:
    """A token is found by its value, and the value itself is not stored."""
    await store.tokens.create("aw_plain_token_value", "ci", ["ingest"])
    found = await store.tokens.find("aw_plain_token_value")
    assert found is not None and found.scopes == frozenset({"ingest"})
    assert await store.tokens.find("aw_other") is None
    assert "aw_plain_token_value" not in await raw_dump(store)


async def test_revoked_token_stops_working(
    store: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Token lookups are remembered briefly (no SELECT per request), yet a revocation
    works at once in the process that made it and within the cache time in another
    process sharing the database."""
    import alertwire.store.tokens

    monkeypatch.setattr(alertwire.store.tokens, "TOKEN_CACHE_SECONDS", 0.3)
    other = await Store.open(Settings(database_url=database_url).sqlalchemy_url,
                             Cipher("test-secret-key"))
    try:
        first = await store.tokens.create("aw_first", "a", ["ingest"])
        second = await store.tokens.create("aw_second", "b", ["ingest"])
        assert await other.tokens.find("aw_first") is not None
        assert await other.tokens.find("aw_second") is not None
        assert await store.tokens.find("aw_first") is not None
        await store.tokens.delete(first.id)
        assert await store.tokens.find("aw_first") is None  # at once, here
        await store.tokens.delete(second.id)
        await asyncio.sleep(0.4)
        assert await other.tokens.find("aw_second") is None  # after the cache time, there
        assert await other.tokens.find("aw_first") is None
    finally:
        await other.close()


async def test_concurrent_claims_and_ingests(store: Store) -> None:
    """Many workers' claims and API ingests at once: none fails with a lock error, and no
    delivery is leased to two claimers."""
    from alertwire.domain.alerts import parse_alerts
    from alertwire.domain.triggers import TriggerSpec

    hook = await store.integrations.create(spec(max_concurrency=1000))
    await store.integrations.set_status(hook.id, "active")
    await store.triggers.create(TriggerSpec(name="all", filter="Action = Block",
                                            channels=[hook.id]))
    batch = parse_alerts(b'[' + b','.join([b'{"Action": "Block"}'] * 20) + b']')
    await asyncio.gather(*(store.alerts.ingest(batch) for _ in range(10)))
    results = await asyncio.gather(
        *(store.deliveries.claim(f"w{i}", limit=10, lease_seconds=30) for i in range(25)),
        *(store.alerts.ingest(batch) for _ in range(5)),
    )
    claimed = [d.id for result in results[:25] for d in result]  # type: ignore[union-attr]
    while more := await store.deliveries.claim("last", limit=100, lease_seconds=30):
        claimed += [d.id for d in more]
    assert len(claimed) == len(set(claimed)) == 300


async def test_retry_dead_pages_by_cursor(store: Store) -> None:
    """`retry_dead` queues dead deliveries again oldest first, a page at a time, on both
    databases: each call answers the ids, how many remain and the cursor to go on from."""
    from alertwire.domain.alerts import parse_alerts
    from alertwire.domain.triggers import TriggerSpec
    from alertwire.store.deliveries import AttemptRecord

    hook = await store.integrations.create(spec())
    await store.integrations.set_status(hook.id, "active")
    await store.triggers.create(TriggerSpec(name="all", filter="Action = Block",
                                            channels=[hook.id]))
    await store.alerts.ingest(parse_alerts(b'[' + b','.join([b'{"Action": "Block"}'] * 5) + b']'))
    claimed = await store.deliveries.claim("w", limit=10, lease_seconds=30)
    now = time.time()
    await store.deliveries.record([
        AttemptRecord(delivery_id=c.id, integration_id=hook.id, attempted_at=now,
                      status_code=400, latency_ms=1.0, error="400", request_method="POST",
                      request_url=hook.url, request_headers={}, response_headers={},
                      response_body="", status="dead", next_attempt_at=None)
        for c in claimed
    ])
    oldest_first = sorted(c.id for c in claimed)

    ids, remaining, cursor = await store.deliveries.retry_dead(integration_id=hook.id, limit=2)
    assert (ids, remaining) == (oldest_first[:2], 3) and cursor is not None
    ids, remaining, cursor = await store.deliveries.retry_dead(integration_id=hook.id,
                                                               cursor=cursor, limit=2)
    assert (ids, remaining) == (oldest_first[2:4], 1) and cursor is not None
    ids, remaining, cursor = await store.deliveries.retry_dead(cursor=cursor, limit=2)
    assert (ids, remaining, cursor) == (oldest_first[4:], 0, None)
    assert await store.deliveries.counts() == {"pending": 5}
    assert await store.deliveries.retry_dead() == ([], 0, None)
    with pytest.raises(NotFound):
        await store.deliveries.retry_dead(integration_id="itg_missing")
