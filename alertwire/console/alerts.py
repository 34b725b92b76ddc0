"""Alerts → All Alerts: the table, the filter box (SPEC §4), quick filters, raw JSON, paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from alertwire.api.deps import Services, ServicesDep
from alertwire.console.pages import ConsoleRoute, render
from alertwire.console.session import ViewerDep
from alertwire.console.silences import muting
from alertwire.console.views import COLUMNS, alert_cells, caret_line, fan_out, narrowed
from alertwire.domain.filters import FilterError, lookup, parse
from alertwire.domain.triggers import Matcher
from alertwire.store import StoredAlert, Trigger

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 50


async def integration_names(services: Services) -> dict[str, str]:
    items, _ = await services.store.integrations.page(limit=500)
    return {i.id: i.name for i in items}


async def trigger_names(services: Services) -> dict[str, str]:
    items, _ = await services.store.triggers.page(limit=500)
    return {t.id: t.name for t in items}


@router.get("/alerts")
async def alerts_page(
    request: Request, services: ServicesDep, viewer: ViewerDep,
    filter: Annotated[str, Query(max_length=4096)] = "", cursor: str | None = None,
) -> Response:
    text = filter.strip()
    error: FilterError | None = None
    items: list[StoredAlert] = []
    next_cursor = None
    matcher = None
    try:
        matcher = parse(text) if text else None
    except FilterError as exc:
        error = exc
    if error is None:
        items, next_cursor = await services.store.alerts.scan(
            (lambda a: True) if matcher is None else (lambda a: matcher.matches(a.parsed())),
            limit=PAGE_SIZE, cursor=cursor)
    caused = await services.store.deliveries.for_alerts([a.id for a in items])
    silences = await muting(services) if items else None
    rows = []
    for alert in items:
        statuses = [d.status for d in caused[alert.id]]
        rows.append({
            "alert": alert, "cells": alert_cells(alert.parsed()), "fan_out": fan_out(statuses),
            "failing": any(s in ("failed", "dead") for s in statuses),
            "silence": None if statuses or silences is None else silences.of(alert),
        })
    return render(
        request, "alerts.html", rows=rows, columns=[title for title, _ in COLUMNS],
        filter=text, error=error,
        caret=caret_line(text, error.position) if error is not None else None,
        narrowed=lambda clause: narrowed(text, clause), next_cursor=next_cursor,
        paged=cursor is not None,
    )


@dataclass(frozen=True)
class Held:
    """A trigger that matched an alert and counted it instead of sending it."""

    trigger: Trigger
    note: str


def held_by(alert: StoredAlert, triggers: list[Trigger], fired: set[str],
            silenced: bool) -> list[Held]:
    """Derived, as deliveries do not list the alerts they count: the enabled triggers, not
    changed since the alert arrived, that match it but made no delivery of it. A throttled
    one held it back in its group (unless a silence muted it first); a digest counts it in
    its period (silences do not apply to digests)."""
    parsed = alert.parsed()
    found = []
    for t in triggers:
        if t.id in fired or not t.enabled or t.updated_at > alert.received_at:
            continue
        if t.frequency == "realtime" and (t.throttle is None or silenced):
            continue
        if not Matcher.compile(t.filter, t.threat_level).matches(parsed):
            continue
        if t.throttle is not None:
            looked_up = [lookup(parsed, name.split(".")) for name in t.throttle.group_by]
            group = ", ".join(f"{name} = {value if present else '(missing)'}" for name, (present, value)
                              in zip(t.throttle.group_by, looked_up, strict=True))
            note = (f"held back by its throttle ({group}): counted into that group's next "
                    f"delivery")
        elif t.digest_sent_until is not None and alert.received_at < t.digest_sent_until:
            note = f"counted into its {t.frequency} digest, already sent"
        else:
            note = f"counted into its {t.frequency} digest, sent when the period ends"
        found.append(Held(t, note))
    return found


@router.get("/alerts/{alert_id}")
async def alert_page(request: Request, services: ServicesDep, viewer: ViewerDep,
                     alert_id: str) -> Response:
    alert = await services.store.alerts.get(alert_id)
    deliveries = (await services.store.deliveries.for_alerts([alert_id]))[alert_id]
    triggers, _ = await services.store.triggers.page(limit=500)
    fired = list(dict.fromkeys(d.trigger_id for d in deliveries if d.trigger_id))
    silence = None if deliveries else (await muting(services)).of(alert)
    return render(request, "alert.html", alert=alert, cells=alert_cells(alert.parsed()),
                  columns=[title for title, _ in COLUMNS], deliveries=deliveries[::-1],
                  integrations=await integration_names(services),
                  triggers={t.id: t.name for t in triggers}, fired=fired, silence=silence,
                  held=held_by(alert, triggers, set(fired), silence is not None))
