"""`alertwire deliveries`: the delivery log, one delivery's attempts, retries (one, or every
dead one of an integration with a progress bar)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Annotated, Any

import click
import typer

from alertwire.commands._client import (
    ApiClient,
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    find_integration,
    find_trigger,
    integration_names,
)
from alertwire.commands._output import emit_json, emit_table, fields, when

app = typer.Typer(help="Deliveries: the log of what was sent, attempts, retries.",
                  no_args_is_help=True)

IntegrationRef = Annotated[str | None, typer.Option(
    "--integration", help="Integration name or id.", show_default=False)]


def _outcome(d: dict[str, Any]) -> str:
    if d["last_status_code"] is not None:
        return str(d["last_status_code"])
    return d["last_error"] or "-"


@app.command("list")
def list_deliveries(
    integration: IntegrationRef = None,
    trigger: Annotated[str | None, typer.Option(help="Trigger name or id.",
                                                show_default=False)] = None,
    alert: Annotated[str | None, typer.Option(help="Alert id.", show_default=False)] = None,
    status: Annotated[str | None, typer.Option(
        help="pending, delivered, failed, dead or cancelled.", show_default=False)] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first (at most 500).")] = 50,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """The delivery log, newest first."""
    with connect(url, token, as_json) as api:
        page = api.get(
            "/api/v1/deliveries", status=status, alert_id=alert, limit=limit,
            integration_id=find_integration(api, integration)["id"] if integration else None,
            trigger_id=find_trigger(api, trigger)["id"] if trigger else None,
        )
        items = page["items"]
        names = integration_names(api) if items and not as_json else {}
    if as_json:
        emit_json(items)
        return
    emit_table(
        ("ID", "STATUS", "INTEGRATION", "ATTEMPTS", "LAST", "CREATED", "NEXT TRY", "ALERT"),
        [(d["id"], d["status"] + (" (fallback)" if d["is_fallback"] else ""),
          names.get(d["integration_id"], d["integration_id"]), d["attempt_count"],
          _outcome(d), when(d["created_at"]), when(d["next_attempt_at"]), d["alert_id"])
         for d in items],
        "no deliveries match",
    )
    if page["next_cursor"]:
        typer.echo(f"(the newest {len(items)}; more with --limit, up to 500)")


@app.command("show")
def show(delivery_id: Annotated[str, typer.Argument(help="The delivery's id.",
                                                    show_default=False)],
         url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """One delivery and every attempt it made."""
    with connect(url, token, as_json) as api:
        item = api.get(f"/api/v1/deliveries/{delivery_id}")
        integration = api.get(f"/api/v1/integrations/{item['integration_id']}")
    if as_json:
        emit_json(item)
        return
    typer.echo(fields([
        ("id", item["id"]), ("status", item["status"]),
        ("integration", f"{integration['name']} ({item['integration_id']})"),
        ("trigger", item["trigger_id"]), ("alert", item["alert_id"]),
        ("fallback", item["is_fallback"]), ("attempts", item["attempt_count"]),
        ("last error", item["last_error"]), ("created", when(item["created_at"])),
        ("next try", when(item["next_attempt_at"])),
        ("delivered", when(item["delivered_at"])),
    ]))
    if item["attempts"]:
        typer.echo("")
        emit_table(("TIME", "STATUS", "LATENCY", "ERROR"), [
            (when(a["attempted_at"]), a["status_code"],
             None if a["latency_ms"] is None else f"{a['latency_ms']:.0f} ms", a["error"])
            for a in item["attempts"]], "")


class Progress:
    """A progress bar on a terminal; elsewhere (pipes, CI logs) one line per step. Always
    on stderr, so stdout stays clean for `--json`."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.done = 0
        self.total = total
        self._bar = click.progressbar(length=total, label=label, file=sys.stderr,
                                      show_pos=True, show_eta=False) \
            if sys.stderr.isatty() else None

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def advance(self, n: int, total: int) -> None:
        self.done += n
        self.total = total
        if self._bar is not None:
            self._bar.length = total
            self._bar.update(n)
        else:
            typer.echo(f"{self.label}: {self.done}/{total}", err=True)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)


def _retry_all_dead(api: ApiClient, integration: dict[str, Any] | None,
                    batch: int) -> list[str]:
    """Walk the dead deliveries with `POST /deliveries/retry-dead`, a batch per call."""
    body: dict[str, Any] = {"limit": batch}
    if integration is not None:
        body["integration_id"] = integration["id"]
    first = api.post("/api/v1/deliveries/retry-dead", body)
    ids: list[str] = list(first["ids"])
    if not ids:
        return ids
    with Progress("retrying dead deliveries", first["retried"] + first["remaining"]) as bar:
        bar.advance(first["retried"], first["retried"] + first["remaining"])
        cursor = first["next_cursor"]
        while cursor is not None:
            page = api.post("/api/v1/deliveries/retry-dead", body | {"cursor": cursor})
            ids += page["ids"]
            bar.advance(page["retried"], len(ids) + page["remaining"])
            cursor = page["next_cursor"]
    return ids


@app.command("retry")
def retry(
    delivery_id: Annotated[str | None, typer.Argument(
        help="The delivery to send again (or use --all-dead).", show_default=False)] = None,
    all_dead: Annotated[bool, typer.Option(
        "--all-dead", help="Every dead delivery (of --integration, or of all).")] = False,
    integration: IntegrationRef = None,
    batch_size: Annotated[int, typer.Option(
        "--batch-size", help="Deliveries queued per request with --all-dead.", min=1,
        max=1000)] = 100,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Send a delivery again, or every dead one (--all-dead [--integration NAME]).

    A retried delivery keeps its webhook-id, so receivers can deduplicate. --all-dead queues
    them a batch at a time and shows a progress bar (one line per batch when stderr is not a
    terminal)."""
    if (delivery_id is None) == (not all_dead):
        raise typer.BadParameter("give a delivery id, or --all-dead (not both)")
    if integration is not None and not all_dead:
        raise typer.BadParameter("--integration goes with --all-dead")
    with connect(url, token, as_json) as api:
        if delivery_id is not None:
            item = api.post(f"/api/v1/deliveries/{delivery_id}/retry")
            if as_json:
                emit_json(item)
            else:
                typer.echo(f"queued delivery {item['id']} again (status {item['status']})")
            return
        found = find_integration(api, integration) if integration else None
        ids = _retry_all_dead(api, found, batch_size)
    of = f" of {found['name']!r}" if found else ""
    if as_json:
        emit_json({"retried": len(ids), "ids": ids})
        return
    if not ids:
        typer.echo(f"no dead deliveries{of}")
        return
    typer.echo(f"queued {len(ids)} dead deliveries{of} again")
    if found is not None and found["status"] != "active":
        typer.echo(f"note: {found['name']!r} is {found['status']}: they wait until it is "
                   "connected again", err=True)
