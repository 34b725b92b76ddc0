"""`alertwire triggers`: list, show, add, edit, enable, disable, delete, test-filter."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from alertwire.commands._client import (
    ApiClient,
    Failure,
    JsonOption,
    TokenOption,
    UrlOption,
    Yes,
    confirm,
    connect,
    find_integration,
    find_trigger,
    integration_names,
)
from alertwire.commands._output import emit, emit_json, emit_table, fields, when

app = typer.Typer(help="Triggers: saved filters that route alerts to integrations.",
                  no_args_is_help=True)

Ref = Annotated[str, typer.Argument(help="The trigger's name or id.", show_default=False)]
Channels = Annotated[list[str] | None, typer.Option(
    "--channel", help="Integration (name or id) to deliver to (repeatable; replaces the list).",
    show_default=False)]
Frequency = Annotated[str | None, typer.Option(
    help="realtime (as it happens), daily, weekly or monthly (digests).", show_default=False)]
ThreatLevel = Annotated[str | None, typer.Option(
    "--threat-level", help="high (Severity 7-10), medium (4-6), low (1-3); 'any' clears it.",
    show_default=False)]
ThrottleBy = Annotated[list[str] | None, typer.Option(
    "--throttle-by", help="Throttle: alert field that makes a group (repeatable).",
    show_default=False)]
ThrottlePeriod = Annotated[str | None, typer.Option(
    "--throttle-period", help="Throttle: at most one delivery per group per period, e.g. 10m.",
    show_default=False)]
Timezone = Annotated[str | None, typer.Option(
    help="IANA time zone digest periods follow, e.g. Europe/Berlin.", show_default=False)]


def _throttle(by: list[str] | None, period: str | None) -> dict[str, Any] | None:
    if not by and period is None:
        return None
    if not by or period is None:
        raise Failure("a throttle needs both --throttle-by FIELD and --throttle-period DURATION")
    return {"group_by": by, "period": period}


def _channel_ids(api: ApiClient, refs: list[str]) -> list[str]:
    return [find_integration(api, ref)["id"] for ref in refs]


def _describe_throttle(throttle: dict[str, Any] | None) -> str | None:
    if not throttle:
        return None
    return f"one per {', '.join(throttle['group_by'])} per {throttle['period']}"


@app.command("list")
def list_triggers(url: UrlOption = None, token: TokenOption = None,
                  as_json: JsonOption = False) -> None:
    """List triggers by name, with the integrations they deliver to."""
    with connect(url, token, as_json) as api:
        items = api.every("/api/v1/triggers")
        names = integration_names(api) if items else {}
    if as_json:
        emit_json(items)
        return
    emit_table(
        ("NAME", "ENABLED", "FREQUENCY", "FILTER", "CHANNELS", "ID"),
        [(t["name"], t["enabled"], t["frequency"], t["filter"],
          ", ".join(names.get(c, c) for c in t["channels"]), t["id"]) for t in items],
        "no triggers yet: add one with `alertwire triggers add NAME --filter EXPR "
        "--channel INTEGRATION`",
    )


@app.command("show")
def show(ref: Ref, url: UrlOption = None, token: TokenOption = None,
         as_json: JsonOption = False) -> None:
    """Show one trigger."""
    with connect(url, token, as_json) as api:
        item = find_trigger(api, ref)
        names = integration_names(api)
    if as_json:
        emit_json(item)
        return
    typer.echo(fields([
        ("name", item["name"]), ("id", item["id"]), ("enabled", item["enabled"]),
        ("filter", item["filter"]), ("threat level", item["threat_level"]),
        ("channels", ", ".join(names.get(c, c) for c in item["channels"])),
        ("frequency", item["frequency"]), ("time zone", item["timezone"]),
        ("throttle", _describe_throttle(item["throttle"])),
        ("created", when(item["created_at"])), ("updated", when(item["updated_at"])),
    ]))


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A unique name.", show_default=False)],
    filter: Annotated[str, typer.Option("--filter", help="e.g. 'Action = Block AND Severity >= 5'.",
                                        show_default=False)],
    channel: Annotated[list[str], typer.Option(
        "--channel", help="Integration (name or id) to deliver to (repeatable).",
        show_default=False)],
    frequency: Frequency = None, threat_level: ThreatLevel = None,
    throttle_by: ThrottleBy = None, throttle_period: ThrottlePeriod = None,
    timezone: Timezone = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Create it disabled.")] = False,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Create Trigger: alerts matching FILTER go to each --channel integration."""
    with connect(url, token, as_json) as api:
        body: dict[str, Any] = {"name": name, "filter": filter,
                                "channels": _channel_ids(api, channel), "enabled": not disabled}
        for key, value in (("frequency", frequency), ("timezone", timezone),
                           ("throttle", _throttle(throttle_by, throttle_period))):
            if value is not None:
                body[key] = value
        if threat_level not in (None, "any"):
            body["threat_level"] = threat_level
        created = api.post("/api/v1/triggers", body)
    emit(created, as_json, f"added trigger {created['name']!r} ({created['id']}): {created['filter']}")


@app.command("edit")
def edit(
    ref: Ref,
    name: Annotated[str | None, typer.Option("--name", help="A new name.",
                                             show_default=False)] = None,
    filter: Annotated[str | None, typer.Option("--filter", help="A new filter expression.",
                                               show_default=False)] = None,
    channel: Channels = None, frequency: Frequency = None, threat_level: ThreatLevel = None,
    throttle_by: ThrottleBy = None, throttle_period: ThrottlePeriod = None,
    no_throttle: Annotated[bool, typer.Option("--no-throttle", help="Remove the throttle.")] = False,
    timezone: Timezone = None,
    enabled: Annotated[bool | None, typer.Option("--enable/--disable", help="Turn it on or off.",
                                                 show_default=False)] = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Change a trigger's fields; the others stay as they are."""
    with connect(url, token, as_json) as api:
        item = find_trigger(api, ref)
        body: dict[str, Any] = {k: v for k, v in (
            ("name", name), ("filter", filter), ("frequency", frequency),
            ("timezone", timezone), ("enabled", enabled),
            ("throttle", _throttle(throttle_by, throttle_period)),
        ) if v is not None}
        if channel:
            body["channels"] = _channel_ids(api, channel)
        if threat_level is not None:
            body["threat_level"] = None if threat_level == "any" else threat_level
        if no_throttle:
            body["throttle"] = None
        if not body:
            raise Failure("nothing to change: give at least one option (see --help)")
        updated = api.patch(f"/api/v1/triggers/{item['id']}", body)
    if as_json:
        emit_json(updated)
        return
    typer.echo(f"updated trigger {updated['name']!r} ({updated['id']}): {', '.join(sorted(body))}")


def _switch(ref: str, enabled: bool, url: str | None, token: str | None, as_json: bool) -> None:
    with connect(url, token, as_json) as api:
        item = api.patch(f"/api/v1/triggers/{find_trigger(api, ref)['id']}", {"enabled": enabled})
    emit(item, as_json, f"{'enabled' if enabled else 'disabled'} trigger {item['name']!r} ({item['id']})")


@app.command("enable")
def enable(ref: Ref, url: UrlOption = None, token: TokenOption = None,
           as_json: JsonOption = False) -> None:
    """Turn a trigger on."""
    _switch(ref, True, url, token, as_json)


@app.command("disable")
def disable(ref: Ref, url: UrlOption = None, token: TokenOption = None,
            as_json: JsonOption = False) -> None:
    """Turn a trigger off (its alerts are still stored, nothing is sent)."""
    _switch(ref, False, url, token, as_json)


@app.command("delete")
def delete(ref: Ref, yes: Yes = False, url: UrlOption = None, token: TokenOption = None,
           as_json: JsonOption = False) -> None:
    """Delete a trigger."""
    with connect(url, token, as_json) as api:
        item = find_trigger(api, ref)
        confirm(f"Delete trigger {item['name']!r} ({item['id']})?", yes, as_json)
        api.delete(f"/api/v1/triggers/{item['id']}")
    if as_json:
        emit_json({"deleted": item["id"], "name": item["name"]})
        return
    typer.echo(f"deleted trigger {item['name']!r} ({item['id']})")


@app.command("test-filter")
def test_filter(
    expression: Annotated[str, typer.Argument(help="A filter expression.", show_default=False)],
    threat_level: ThreatLevel = None,
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False,
) -> None:
    """Test Filter: how many stored alerts match, and the newest of them."""
    body: dict[str, Any] = {"filter": expression}
    if threat_level not in (None, "any"):
        body["threat_level"] = threat_level
    with connect(url, token, as_json) as api:
        result = api.post("/api/v1/triggers/test-filter", body)
    if as_json:
        emit_json(result)
        return
    typer.echo(f"{result['matched']} of {result['total']} stored alerts match")
    if result["sample"]:
        emit_table(("RECEIVED", "SOURCE", "ALERT", "ID"),
                   [(when(a["received_at"]), a["source"], a["alert"], a["id"])
                    for a in result["sample"]], "")
