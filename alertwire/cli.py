"""The `alertwire` command line."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer
import uvicorn

import alertwire
from alertwire.bootstrap import ADMIN_TOKEN_FILE, AdminToken
from alertwire.domain.samples import kubearmor_file_integrity_alert
from alertwire.logs import configure_logging
from alertwire.settings import Settings, SettingsError, load_settings

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
    from alertwire.api.app import create_app

    settings = _settings()
    changes: dict[str, object] = {"workers": not no_workers, "demo": demo}
    if host is not None:
        changes["host"] = host
    if port is not None:
        changes["port"] = port
    settings = settings.with_overrides(**changes)
    configure_logging(settings.log_level)
    uvicorn.run(  # log_config=None: uvicorn's own messages go through the JSON handler too
        create_app(settings, announce=_announce(settings)),
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

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Server URL (ALERTWIRE_URL; default from settings).")
]
TokenOption = Annotated[
    str | None,
    typer.Option("--token", help="API token (ALERTWIRE_TOKEN; default: the saved admin token)."),
]


def _client_target(url: str | None, token: str | None) -> tuple[str, str]:
    settings = _settings()
    url = url or os.environ.get("ALERTWIRE_URL") or settings.base_url
    token = token or os.environ.get("ALERTWIRE_TOKEN") or settings.admin_token
    if not token:
        saved = settings.data_dir / ADMIN_TOKEN_FILE
        if saved.exists():
            token = saved.read_text().strip()
    if not token:
        typer.echo("error: no API token: pass --token, set ALERTWIRE_TOKEN, or run where the "
                   "server's data directory holds admin-token", err=True)
        raise typer.Exit(2)
    return url.rstrip("/"), token


def _post_alerts(url: str, token: str, body: bytes) -> None:
    async def post() -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.post(
            f"{url}/api/v1/alerts", data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        ) as response:
            return response.status, await response.text()

    try:
        status, text = asyncio.run(post())
    except aiohttp.ClientError as exc:
        typer.echo(f"error: cannot reach {url}: {exc}", err=True)
        raise typer.Exit(1) from None
    if status != 202:
        typer.echo(f"error: server answered {status}: {text}", err=True)
        raise typer.Exit(1)
    answer = json.loads(text)
    typer.echo(f"accepted {answer['accepted']} alert(s): {', '.join(answer['ids'])}")


@alerts_app.command("send")
def alerts_send(
    file: Annotated[str, typer.Argument(help="A JSON file with one alert or an array; - for stdin.")],
    url: UrlOption = None, token: TokenOption = None,
) -> None:
    """Post alerts to a running server, exactly as they are in FILE."""
    body = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    _post_alerts(*_client_target(url, token), body)


SCENARIOS = {"file-integrity": "a KubeArmor Block of a write to a protected system path"}


@app.command()
def simulate(
    scenario: Annotated[str, typer.Argument(help="file-integrity")] = "file-integrity",
    url: UrlOption = None, token: TokenOption = None,
) -> None:
    """Send a realistic alert, as if a security agent had just raised it."""
    if scenario not in SCENARIOS:
        typer.echo(f"error: unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}",
                   err=True)
        raise typer.Exit(2)
    alert = kubearmor_file_integrity_alert()
    typer.echo(f"simulating {SCENARIOS[scenario]}: {alert['ProcessName']} -> "
               f"{alert['Resource']} ({alert['Action']}, policy {alert['PolicyName']})")
    _post_alerts(*_client_target(url, token), json.dumps(alert, indent=2).encode())


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
) -> None:
    """Print each request a bin receives, as it arrives, until Ctrl-C."""
    base, secret = _client_target(url, token)
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
                       "Waiting for requests (Ctrl-C to stop)…", )
            timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
            async with session.get(f"{base}/api/v1/bins/{chosen}/stream",
                                   timeout=timeout) as stream:
                stream.raise_for_status()
                async for raw in stream.content:
                    line = raw.decode().rstrip("\n")
                    if line.startswith("data: "):
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


tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. falco-prod.")],
    scope: Annotated[list[str], typer.Option(help="admin, ingest or read (repeatable).")],
    url: UrlOption = None, token: TokenOption = None,
) -> None:
    """Create an API token (printed once) on a running server."""
    base, admin = _client_target(url, token)

    async def create() -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.post(
            f"{base}/api/v1/tokens", json={"name": name, "scopes": scope},
            headers={"Authorization": f"Bearer {admin}"},
        ) as response:
            return response.status, await response.text()

    status, text = asyncio.run(create())
    if status != 201:
        typer.echo(f"error: server answered {status}: {text}", err=True)
        raise typer.Exit(1)
    typer.echo(json.loads(text)["token"])


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(alertwire.__version__)


def main() -> None:
    app(prog_name="alertwire")


if __name__ == "__main__":
    main()
    sys.exit(0)
