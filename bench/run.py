"""`make bench`: alertwire against its baselines, side by side in one run (SPEC §10).

    python -m bench.run [--alerts 20000] [--pending 1000000] [--only NAME ...]

Prints one table: each figure, its baseline, the ratio and the target. Every contender posts
to the same nginx (bench/sink.py) and is counted the same way, at nginx's access log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from bench.contenders import (
    CONCURRENCY,
    TOKEN,
    alertmanager,
    alertwire,
    as_prometheus_alert,
    bare_client,
    bare_fastapi,
    distinct_alerts,
)
from bench.sink import Sink

HERE = Path(__file__).parent
BATCH = 100
POSTING_LANES = 4  # batches in flight at once, for Alertmanager and alertwire alike


@dataclass
class Row:
    figure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""

    def cells(self) -> list[str]:
        ratio = f"{self.value / self.baseline:.2f}×" if self.baseline else ""
        base = f"{self.baseline:,.1f} {self.unit} ({self.baseline_name})" if self.baseline else ""
        return [self.figure, f"{self.value:,.1f} {self.unit}", base, ratio, self.target]


# --- end-to-end throughput ----------------------------------------------------------------

async def raw_ceiling(alerts: list[dict[str, object]]) -> float:
    sink = Sink().start()
    try:
        bodies = [json.dumps(a).encode() for a in alerts]
        start, busy = time.time(), machine_busy_seconds()
        await bare_client(sink.url, bodies, CONCURRENCY)
        elapsed = await asyncio.to_thread(sink.wait_for, len(alerts), 60) - start
        print(f"  bare aiohttp: {elapsed:.2f} s; {cores_busy(busy, elapsed)}", flush=True)
        return len(alerts) / elapsed
    finally:
        sink.stop()


async def alertmanager_throughput(alerts: list[dict[str, object]]) -> float:
    sink = Sink().start()
    try:
        with alertmanager(sink) as url:
            batches = [[as_prometheus_alert(a) for a in alerts[i:i + BATCH]]
                       for i in range(0, len(alerts), BATCH)]
            start, busy = time.time(), machine_busy_seconds()
            async with aiohttp.ClientSession() as session:
                await _post_batches(session, f"{url}/api/v2/alerts", batches, {})
            elapsed = await asyncio.to_thread(sink.wait_for, len(alerts), 300) - start
            print(f"  Alertmanager: {elapsed:.2f} s; {cores_busy(busy, elapsed)}", flush=True)
            return len(alerts) / elapsed
    finally:
        sink.stop()


async def alertwire_throughput(alerts: list[dict[str, object]], database: str,
                               workers: int = 0) -> float:
    """Ingested in batches of 100, delivered to the sink and recorded as delivered."""
    sink = Sink().start()
    try:
        async with alertwire(database, workers=workers) as aw, \
                aiohttp.ClientSession() as session:
            await aw.route_to(sink.url)
            baseline = await asyncio.to_thread(sink.count)  # the connection test's request
            batches = [alerts[i:i + BATCH] for i in range(0, len(alerts), BATCH)]
            cpu, busy = aw.cpu_seconds(), machine_busy_seconds()
            start = time.time()
            await _post_batches(session, f"{aw.server.url}/api/v1/alerts", batches,
                                {"Authorization": f"Bearer {TOKEN}"})
            print(f"  ingested in {time.time() - start:.2f} s", flush=True)
            arrived = await asyncio.to_thread(sink.wait_for, baseline + len(alerts), 300)
            recorded = await aw.wait_delivered(len(alerts), 300)
            elapsed = max(arrived, recorded) - start
            print(f"  alertwire on {database}{f' + {workers} worker(s)' if workers else ''}: "
                  f"{elapsed:.2f} s, alertwire's CPU {(aw.cpu_seconds() - cpu) / elapsed:.0%} of "
                  f"one core; {cores_busy(busy, elapsed)}", flush=True)
            return len(alerts) / elapsed
    finally:
        sink.stop()


def machine_busy_seconds() -> float:
    """CPU time every process on the machine has used (/proc/stat: all but idle and iowait)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def cores_busy(since: float, elapsed: float) -> str:
    """How many of the machine's cores were busy (everything on it) since `since`."""
    return f"the machine: {(machine_busy_seconds() - since) / elapsed:.2f} of " \
        f"{os.cpu_count()} cores busy"


async def _post_batches(session: aiohttp.ClientSession, url: str, batches: Sequence[Sequence[Any]],
                        headers: dict[str, str]) -> None:
    queue = iter(batches)

    async def lane() -> None:
        for batch in queue:
            async with session.post(url, json=batch, headers=headers) as response:
                if response.status >= 300:
                    raise RuntimeError(f"{url}: {response.status} {await response.text()}")

    await asyncio.gather(*(lane() for _ in range(POSTING_LANES)))


# --- single-alert ingest -------------------------------------------------------------------

def wrk(url: str, seconds: int = 10, connections: int = 16) -> float:
    alert = json.dumps(distinct_alerts(1)[0])
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(HERE / "post.lua"),
         url + "/api/v1/alerts"],
        env=os.environ | {"ALERT": alert, "TOKEN": TOKEN}, capture_output=True, text=True,
        check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


async def single_ingest() -> tuple[float, float]:
    with bare_fastapi() as url:
        bare = await asyncio.to_thread(wrk, url)
    async with alertwire("sqlite") as aw:
        ours = await asyncio.to_thread(wrk, aw.server.url)
        count = (await aw.api.get("/api/v1/alerts", params={"limit": 1})).json()["items"]
        assert count, "wrk's alerts were not stored"
    return ours, bare


# --- latency at a steady rate --------------------------------------------------------------

async def paced(url: str, rate: int, seconds: float, headers: dict[str, str]) -> dict[int, float]:
    """Post one alert per request at a steady `rate`; the send time of each `seq`."""
    sent: dict[int, float] = {}
    alerts = distinct_alerts(int(rate * seconds))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
        async def one(alert: dict[str, object]) -> None:
            sent[int(alert["seq"])] = time.time()  # type: ignore[call-overload]
            async with session.post(url, json=alert, headers=headers) as response:
                if response.status >= 300:
                    raise RuntimeError(f"{url}: {response.status}")

        tasks = []
        start = time.monotonic()
        for i, alert in enumerate(alerts):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(alert)))
        await asyncio.gather(*tasks)
    return sent


def percentiles(sent: dict[int, float], sink: Sink, skip: float) -> tuple[float, float]:
    """p50 and p99 in ms of arrival − send, leaving out the first `skip` share (warm-up)."""
    arrivals = {int(body["seq"]): at for at, body in sink.bodies()  # type: ignore[call-overload]
                if "seq" in body}
    missing = set(sent) - set(arrivals)
    if missing:
        raise RuntimeError(f"{len(missing)} alerts never reached the sink")
    ordered = sorted(sent)
    kept = ordered[int(len(ordered) * skip):]
    # nginx stamps in whole milliseconds: add half a millisecond to be unbiased.
    latencies = [(arrivals[s] + 0.0005 - sent[s]) * 1000 for s in kept]
    cuts = statistics.quantiles(latencies, n=100)
    return cuts[49], cuts[98]


async def latency(rate: int, seconds: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """(alertwire p50, p99), (direct post p50, p99) at `rate` alerts/s."""
    sink = Sink().start()
    try:
        direct = await paced(sink.body_url, rate, seconds, {})
        await asyncio.to_thread(sink.wait_for, len(direct), 60)
        await asyncio.sleep(0.5)
        baseline = percentiles(direct, sink, skip=0.1)
    finally:
        sink.stop()
    sink = Sink().start()
    try:
        async with alertwire("sqlite") as aw:
            await aw.route_to(sink.body_url)
            sent = await paced(f"{aw.server.url}/api/v1/alerts", rate, seconds,
                               {"Authorization": f"Bearer {TOKEN}"})
            await aw.wait_delivered(len(sent), 120)
            await asyncio.sleep(0.5)  # nginx flushes its log every 200 ms
        return percentiles(sent, sink, skip=0.1), baseline
    finally:
        sink.stop()


# --- a million pending deliveries ----------------------------------------------------------

def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def backlog(pending: int, observe: float = 30) -> dict[str, float]:
    """Receiver down: `pending` deliveries pile up; RSS is watched; then the receiver comes
    back on the same port and the drain rate is measured."""
    sink = Sink().start()
    port = sink.port
    async with alertwire("sqlite", ALERTWIRE_CIRCUIT_COOLDOWN="2") as aw, \
            aiohttp.ClientSession() as session:
        await aw.route_to(sink.url)
        sink.stop()
        start = time.monotonic()
        chunk = 1000
        queue = iter(range(0, pending, chunk))

        async def lane() -> None:
            for first in queue:
                batch = distinct_alerts(min(chunk, pending - first), start=first)
                async with session.post(f"{aw.server.url}/api/v1/alerts", json=batch,
                                        headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                    if r.status >= 300:
                        raise RuntimeError(f"ingest: {r.status} {await r.text()}")

        await asyncio.gather(*(lane() for _ in range(POSTING_LANES)))
        ingest_rate = pending / (time.monotonic() - start)
        down = [rss_mb(aw.pid())]
        for _ in range(int(observe)):
            await asyncio.sleep(1)
            down.append(rss_mb(aw.pid()))
        sink = Sink(port=port).start()
        try:
            before, _ = await aw.delivered()
            t0 = time.monotonic()
            draining = []
            for _ in range(int(observe)):
                await asyncio.sleep(1)
                draining.append(rss_mb(aw.pid()))
            after, _ = await aw.delivered()
            drain_rate = (after - before) / (time.monotonic() - t0)
        finally:
            sink.stop()
    return {"ingest_rate": ingest_rate, "rss_down_max": max(down), "rss_down_first": down[0],
            "rss_drain_max": max(draining), "drain_rate": drain_rate}


# --- the table -----------------------------------------------------------------------------

async def main(args: argparse.Namespace) -> None:
    rows: list[Row] = []
    wanted: Callable[[str], bool] = lambda name: not args.only or name in args.only  # noqa: E731
    alerts = distinct_alerts(args.alerts)
    n = f"{args.alerts:,}"

    async def step(name: str, work: Callable[[], Awaitable[None]]) -> None:
        if wanted(name):
            print(f"… {name}", flush=True)
            await work()

    throughput: dict[str, float] = {}

    async def e2e() -> None:
        throughput["raw"] = await raw_ceiling(alerts)
        throughput["alertmanager"] = await alertmanager_throughput(alerts)
        for database in ("sqlite", "postgresql"):
            throughput[database] = await alertwire_throughput(alerts, database)
        # Scale-out as documented: the API server stores, one `alertwire worker` delivers.
        scaled = "postgresql, API + 1 worker process"
        throughput[scaled] = await alertwire_throughput(alerts, "postgresql", workers=1)
        for setup in ("sqlite", "postgresql", scaled):
            rows.append(Row(f"throughput, {n} alerts, {setup}", throughput[setup],
                            "alerts/s", throughput["alertmanager"], "Alertmanager", "≥ 1.5×"))
            rows.append(Row(f"throughput, {n} alerts, {setup}", throughput[setup],
                            "alerts/s", throughput["raw"], "bare aiohttp", "≥ 0.7×"))

    async def ingest() -> None:
        ours, bare = await single_ingest()
        rows.append(Row("single-alert ingest (durable), sqlite", ours, "req/s", bare,
                        "bare FastAPI", "≥ 0.7×"))

    async def steady() -> None:
        (p50, p99), (base50, base99) = await latency(args.rate, args.seconds)
        rows.append(Row(f"latency p50 at {args.rate}/s", p50, "ms", base50, "direct post",
                        "≤ 5 ms"))
        rows.append(Row(f"latency p99 at {args.rate}/s", p99, "ms", base99, "direct post",
                        "≤ 25 ms"))

    async def pending() -> None:
        found = await backlog(args.pending)
        label = f"{args.pending:,} pending"
        rows.append(Row(f"RSS, {label}, receiver down (max)", found["rss_down_max"], "MB",
                        found["rss_down_first"], "RSS when backlog complete", "≤ 200 MB, flat"))
        rows.append(Row(f"RSS, {label}, draining (max)", found["rss_drain_max"], "MB",
                        target="≤ 200 MB"))
        rows.append(Row(f"drain rate, {label}", found["drain_rate"], "deliveries/s",
                        throughput.get("sqlite"), "e2e throughput, sqlite", "full speed"))
        rows.append(Row(f"ingest of the backlog (batches of 1000), {label}",
                        found["ingest_rate"], "alerts/s"))

    await step("throughput", e2e)
    await step("ingest", ingest)
    await step("latency", steady)
    await step("backlog", pending)
    print_table(rows)


def print_table(rows: list[Row]) -> None:
    header = ["figure", "alertwire", "baseline", "ratio", "target"]
    cells = [header] + [r.cells() for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    print(f"\n{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}")
    for i, line in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=20_000)
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--only", nargs="*", choices=["throughput", "ingest", "latency",
                                                      "backlog"])
    return parser.parse_args()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main(parse_args()))
