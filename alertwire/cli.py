"""The `alertwire` command line."""

from __future__ import annotations

import asyncio
import gc
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import aiohttp
import typer

import alertwire
from alertwire.commands import config, deliveries, drill, integrations, tokens, triggers
from alertwire.commands._client import (
    JsonOption,
    TokenOption,
    UrlOption,
    client_target,
    connect,
)
from alertwire.commands._output import emit
from alertwire.domain.samples import kubearmor_file_integrity_alert
from alertwire.logs import configure_logging
from alertwire.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from alertwire.bootstrap import AdminToken

app = typer.Typer(
    help="alertwire: runtime-security alerts (KubeArmor, Falco, any JSON) to webhooks.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _announce(settings: Settings) -> Callable[[AdminToken], None]:
    def announce(admin: AdminToken) -> None:
        lines = [f"alertwire {alertwire.__version__} is running", f"  console: {settings.base_url}/"]
        if admin.token:
            lines += [
                f"  admin token (shown once): {admin.token}",
                f"  saved to: {admin.path} (mode 0600)",
            ]
        elif admin.source == "env":
            lines.append("  admin token: the one in ALERTWIRE_ADMIN_TOKEN")
        elif admin.path:
            lines.append(f"  admin token: saved in {admin.path}")
        lines.append(
            "  next: open the console and add a webhook integration, "
            "or run `alertwire --help`"
        )
        typer.echo("\n".join(lines))

    return announce


def _freeze_startup_objects() -> None:
    """What is loaded at start-up (modules, the app) lives as long as the process: keep it
    out of the collector's full passes, which otherwise scan it all and stop the event loop
    for tens of milliseconds at a time (measured: 20–85 ms; SPEC §10 p99 latency)."""
    gc.collect()
    gc.freeze()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (ALERTWIRE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (ALERTWIRE_PORT).")] = None,
    no_workers: Annotated[
        bool, typer.Option("--no-workers", help="API and console only; run `alertwire worker`s.")
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Also create a bin, an integration to it and an "
                           "`Action = Block` trigger.")
    ] = False,
) -> None:
    """Run the API, console, inspector and delivery workers in one process (SQLite by default)."""
    import uvicorn

    from alertwire.api.app import create_app

    settings = _settings()
    changes: dict[str, object] = {"workers": not no_workers, "demo": demo}
    if host is not None:
        changes["host"] = host
    if port is not None:
        changes["port"] = port
    settings = settings.with_overrides(**changes)
    configure_logging(settings.log_level)
    app = create_app(settings, announce=_announce(settings))
    _freeze_startup_objects()
    uvicorn.run(  # log_config=None: uvicorn's own messages go through the JSON handler too
        app,
        host=settings.host, port=settings.port, log_level="warning", lifespan="on",
        log_config=None,
    )


@app.command()
def worker() -> None:
    """Run delivery workers only (scale-out: share ALERTWIRE_DATABASE_URL with the API)."""
    from alertwire.api.app import start_services, stop_services

    settings = _settings().with_overrides(workers=True)
    configure_logging(settings.log_level)

    async def run() -> None:
        services, _ = await start_services(settings)
        _freeze_startup_objects()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        typer.echo(f"alertwire worker {services.worker.worker_id if services.worker else ''} "
                   "is running; Ctrl-C drains in-flight deliveries and stops")
        await stop.wait()
        await stop_services(services)

    asyncio.run(run())


alerts_app = typer.Typer(help="Send and read alerts through a running server.",
                         no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")

def _post_alerts(url: str | None, token: str | None, body: bytes, as_json: bool) -> None:
    with connect(url, token, as_json) as api:
        answer = api.request("POST", "/api/v1/alerts", raw=body)
    emit(answer, as_json, f"accepted {answer['accepted']} alert(s): {', '.join(answer['ids'])}")


@alerts_app.command("send")
def alerts_send(
    file: Annotated[str, typer.Argument(help="A JSON file with one alert or an array; - for stdin.")],
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Post alerts to a running server, exactly as they are in FILE."""
    try:
        body = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        typer.echo(f"error: cannot read {file}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    _post_alerts(url, token, body, as_json)


SCENARIOS = {"file-integrity": "a KubeArmor Block of a write to a protected system path"}


@app.command()
def simulate(
    scenario: Annotated[str, typer.Argument(help="file-integrity")] = "file-integrity",
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Send a realistic alert, as if a security agent had just raised it."""
    if scenario not in SCENARIOS:
        typer.echo(f"error: unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}",
                   err=True)
        raise typer.Exit(2)
    alert = kubearmor_file_integrity_alert()
    if not as_json:
        typer.echo(f"simulating {SCENARIOS[scenario]}: {alert['ProcessName']} -> "
                   f"{alert['Resource']} ({alert['Action']}, policy {alert['PolicyName']})")
    _post_alerts(url, token, json.dumps(alert, indent=2).encode(), as_json)


source_app = typer.Typer(help="Consume alerts from a security agent and ingest them.",
                         no_args_is_help=True)
app.add_typer(source_app, name="source")

SpoolOption = Annotated[
    Path | None,
    typer.Option("--spool", help="Durable local buffer (SQLite file); default: in the data "
                 "directory (ALERTWIRE_DATA_DIR)."),
]
MaxBackoffOption = Annotated[
    float, typer.Option("--max-backoff", min=0.05,
                        help="Longest wait between reconnects and resends, in seconds."),
]


def _log_to_stderr() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)


async def _run_until_signal(*jobs: Any) -> None:
    """Run coroutines until SIGINT/SIGTERM (or one of them fails), then cancel them all."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.ensure_future(job) for job in jobs]
    stopper = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper:
                task.result()
    finally:
        for task in [*tasks, stopper]:
            task.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)


@source_app.command("kubearmor")
def source_kubearmor(
    relay: Annotated[str, typer.Option("--relay", help="The relay's HOST:PORT "
                                       "(kubearmor-relay, default port 32767).")],
    logs: Annotated[bool, typer.Option("--logs", help="Also ingest WatchLogs (system and "
                                       "container logs), not only alerts.")] = False,
    alert_filter: Annotated[str, typer.Option(help="all or policy.")] = "all",
    log_filter: Annotated[str, typer.Option(help="all or system.")] = "all",
    spool: SpoolOption = None, max_backoff: MaxBackoffOption = 30.0,
    url: UrlOption = None, token: TokenOption = None,
) -> None:
    """Stream alerts (and optionally logs) from a KubeArmor relay's gRPC feeder.LogService,
    buffer them durably, and post them to the server (an ingest token is enough)."""
    from alertwire.sources.forwarder import Forwarder
    from alertwire.sources.relay import FILTERS, parse_target, watch
    from alertwire.store.spool import Spool

    try:
        target = parse_target(relay)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for option, chosen, allowed in (("--alert-filter", alert_filter, FILTERS["alerts"]),
                                    ("--log-filter", log_filter, FILTERS["logs"])):
        if chosen not in allowed:
            typer.echo(f"error: {option} {chosen!r}: expected one of {', '.join(allowed)}",
                       err=True)
            raise typer.Exit(2)
    base, secret = client_target(url, token)
    queue = Spool(spool or _settings().data_dir / "kubearmor-relay-spool.db")
    _log_to_stderr()
    typer.echo(f"alertwire source kubearmor: relay {target} -> {base} "
               f"(spool {queue.path}, {queue.count()} queued); Ctrl-C stops")

    async def run() -> None:
        forwarder = Forwarder(queue, base, secret, max_backoff=max_backoff)

        async def sink(text: str) -> None:
            await asyncio.to_thread(queue.append, [text])
            forwarder.wake()

        jobs = [forwarder.run(), watch(target, "alerts", alert_filter, sink,
                                       max_backoff=max_backoff)]
        if logs:
            jobs.append(watch(target, "logs", log_filter, sink, max_backoff=max_backoff))
        await _run_until_signal(*jobs)

    try:
        asyncio.run(run())
    finally:
        queue.close()


@app.command()
def agent(
    policy: Annotated[list[Path], typer.Option(
        "--policy", help="A KubeArmorPolicy / KubeArmorHostPolicy YAML file (repeatable).")],
    check: Annotated[bool, typer.Option(
        "--check", help="Only parse the policies and print what would be enforced.")] = False,
    spool: SpoolOption = None, max_backoff: MaxBackoffOption = 30.0,
    url: UrlOption = None, token: TokenOption = None,
) -> None:
    """Enforce KubeArmor file and process policies on this Linux host with fanotify (root),
    and send a KubeArmor alert to the server for every violation."""
    import queue
    import threading

    from alertwire.agent import fanotify
    from alertwire.agent.enforcer import Enforcer
    from alertwire.agent.policy import PolicyError, describe, load_policies
    from alertwire.sources.forwarder import Forwarder
    from alertwire.store.spool import Spool

    policies = []
    for file in policy:
        try:
            policies += load_policies(file.read_text(encoding="utf-8"), str(file))
        except OSError as exc:
            typer.echo(f"error: cannot read policy {file}: {exc.strerror}", err=True)
            raise typer.Exit(2) from None
        except PolicyError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    if check:
        typer.echo("\n".join(describe(policies)))
        return
    reason = fanotify.unavailable()
    if reason is not None:
        typer.echo(f"error: cannot enforce with fanotify: {reason}", err=True)
        raise typer.Exit(1)
    base, secret = client_target(url, token)
    _log_to_stderr()
    buffer = Spool(spool or _settings().data_dir / "agent-spool.db")
    violations: queue.Queue[dict[str, Any]] = queue.Queue()
    enforcer = Enforcer(policies, on_alert=violations.put)
    for problem in enforcer.mark():
        typer.echo(f"warning: {problem}", err=True)
    responder = threading.Thread(target=enforcer.run, name="fanotify", daemon=True)
    responder.start()
    typer.echo(f"alertwire agent: enforcing {len(policies)} polic{'y' if len(policies) == 1 else 'ies'} "
               f"with fanotify ({len(enforcer.marked)} marks); alerts to {base} "
               f"(spool {buffer.path}); Ctrl-C stops")
    for line in describe(policies):
        typer.echo(f"  {line}")

    async def run() -> None:
        forwarder = Forwarder(buffer, base, secret, max_backoff=max_backoff)

        def next_alert() -> dict[str, Any] | None:
            try:
                return violations.get(timeout=0.5)
            except queue.Empty:
                return None

        async def drain() -> None:
            while True:
                alert = await asyncio.to_thread(next_alert)
                if alert is None:
                    continue
                await asyncio.to_thread(buffer.append, [json.dumps(alert)])
                forwarder.wake()
                typer.echo(f"{alert['Action']} {alert['Operation']} {alert['Resource']} by "
                           f"{alert.get('ProcessName', '?')} (policy {alert['PolicyName']})")

        await _run_until_signal(forwarder.run(), drain())

    try:
        asyncio.run(run())
    finally:
        enforcer.stop()
        responder.join(timeout=5)
        enforcer.close()
        buffer.close()


SHOWN_HEADERS = ("content-type", "user-agent", "webhook-id", "webhook-timestamp", "authorization")


def show_captured(item: dict[str, Any]) -> str:
    """One captured request as the terminal shows it: a summary line, a few headers, the body."""
    target = item["path"] + (f"?{item['query']}" if item["query"] else "")
    lines = [f"{item['received_at']}  {item['method']} {target}  "
             f"({item['size']} bytes from {item['ip']})"]
    for name, value in item["headers"]:
        if name.lower() in SHOWN_HEADERS:
            lines.append(f"  {name}: {value}")
    body = item["body"]
    if body is None:
        lines.append(f"  <binary body, {item['size']} bytes>")
    elif body:
        try:
            body = json.dumps(json.loads(body), indent=2)
        except ValueError:
            pass
        if len(body) > 4000:
            body = body[:4000] + f"\n… {len(body) - 4000} more characters"
        lines.extend("  " + line for line in body.splitlines())
    return "\n".join(lines)


@app.command()
def inspect(
    bin_id: Annotated[str | None, typer.Option("--bin", help="Watch this bin.")] = None,
    name: Annotated[str, typer.Option(help="Reuse (or create) the bin with this name.")] = "cli",
    url: UrlOption = None, token: TokenOption = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="One JSON object per captured request, one per line.")] = False,
) -> None:
    """Print each request a bin receives, as it arrives, until Ctrl-C."""
    base, secret = client_target(url, token)
    auth = {"Authorization": f"Bearer {secret}"}

    async def watch() -> None:
        async with aiohttp.ClientSession(headers=auth) as session:
            chosen = bin_id
            if chosen is None:
                async with session.get(f"{base}/api/v1/bins") as response:
                    response.raise_for_status()
                    existing = [b for b in await response.json() if b["name"] == name]
                if existing:
                    chosen = existing[0]["id"]
                else:
                    async with session.post(f"{base}/api/v1/bins", json={"name": name}) as made:
                        made.raise_for_status()
                        chosen = (await made.json())["id"]
            async with session.get(f"{base}/api/v1/bins/{chosen}") as response:
                response.raise_for_status()
                found = await response.json()
            typer.echo(f"Inspecting bin {found['name']!r}. Send requests to:\n  {found['url']}\n"
                       "Waiting for requests (Ctrl-C to stop)…", err=as_json)
            timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
            async with session.get(f"{base}/api/v1/bins/{chosen}/stream",
                                   timeout=timeout) as stream:
                stream.raise_for_status()
                async for raw in stream.content:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("data: ") and as_json:
                        typer.echo(line[6:])
                    elif line.startswith("data: "):
                        typer.echo(show_captured(json.loads(line[6:])) + "\n")

    try:
        asyncio.run(watch())
    except KeyboardInterrupt:
        typer.echo("stopped")
    except aiohttp.ClientResponseError as exc:
        typer.echo(f"error: server answered {exc.status}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except aiohttp.ClientError as exc:
        typer.echo(f"error: cannot reach {base}: {exc}", err=True)
        raise typer.Exit(1) from None


app.add_typer(integrations.app, name="integrations")
app.add_typer(triggers.app, name="triggers")
app.add_typer(deliveries.app, name="deliveries")
app.add_typer(tokens.app, name="tokens")
app.add_typer(config.app, name="config")
app.command("drill")(drill.drill)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(alertwire.__version__)


def main() -> None:
    app(prog_name="alertwire")


if __name__ == "__main__":
    main()
    sys.exit(0)
