"""The store's own cost per alert, without HTTP: ingest in batches of 100, then claim and
record deliveries in batches of `--batch`.  python -m bench.store [--database postgresql]"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from alertwire.domain.alerts import parse_alerts
from alertwire.domain.crypto import Cipher
from alertwire.domain.integrations import IntegrationCreate
from alertwire.domain.triggers import TriggerSpec
from alertwire.store import Store
from alertwire.store.deliveries import AttemptRecord
from alertwire.store.schema import integrations
from bench.contenders import distinct_alerts
from tests.conftest import fresh_pg_database


async def measure(url: str, alerts: int, batch: int) -> None:
    store = await Store.open(url, Cipher("bench"))
    try:
        hook = await store.integrations.create(IntegrationCreate(
            name="sink", url="http://127.0.0.1:9/hook", max_concurrency=batch))
        async with store.engine.begin() as conn:  # active without a connection test
            await conn.execute(integrations.update().values(status="active"))
        await store.triggers.create(TriggerSpec(name="blocks", filter="Action = Block",
                                                channels=[hook.id]))
        started = time.perf_counter()
        for first in range(0, alerts, 100):
            await store.alerts.ingest(parse_alerts(json.dumps(
                distinct_alerts(100, start=first)).encode()))
        ingest = time.perf_counter() - started
        claim = record = 0.0
        done = 0
        while done < alerts:
            started = time.perf_counter()
            claimed = await store.deliveries.claim("bench", limit=batch, lease_seconds=30)
            claim += time.perf_counter() - started
            now = time.time()
            records = [AttemptRecord(
                delivery_id=c.id, integration_id=c.integration_id, attempted_at=now,
                status_code=204, latency_ms=1.0, error=None, request_method="POST",
                request_url="http://127.0.0.1:9/hook", request_headers={},
                response_headers={}, response_body="", status="delivered",
                next_attempt_at=None, succeeded=True) for c in claimed]
            started = time.perf_counter()
            await store.deliveries.record(records)
            record += time.perf_counter() - started
            done += len(claimed)
        print(f"{store.dialect}: ingest {ingest / alerts * 1e6:.0f} µs/alert, claim "
              f"{claim / alerts * 1e6:.0f} µs/delivery, record {record / alerts * 1e6:.0f} "
              f"µs/delivery (batches of {batch})")
    finally:
        await store.close()


async def main(args: argparse.Namespace) -> None:
    if args.database == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            await measure(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", args.alerts,
                          args.batch)
    else:
        async with fresh_pg_database() as url:
            await measure(url.replace("postgresql://", "postgresql+asyncpg://", 1),
                          args.alerts, args.batch)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=128)
    asyncio.run(main(parser.parse_args()))
