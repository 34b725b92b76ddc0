"""Alerts → All Alerts: the table, the filter box (SPEC §4), quick filters, raw JSON, paging."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from alertwire.api.deps import Services, ServicesDep
from alertwire.console.pages import ConsoleRoute, render
from alertwire.console.session import ViewerDep
from alertwire.console.views import COLUMNS, alert_cells, caret_line, narrowed
from alertwire.domain.filters import FilterError, parse
from alertwire.store import StoredAlert

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
    rows = []
    for alert in items:
        parsed = alert.parsed()
        rows.append({"alert": alert, "cells": alert_cells(parsed)})
    return render(
        request, "alerts.html", rows=rows, columns=[title for title, _ in COLUMNS],
        filter=text, error=error,
        caret=caret_line(text, error.position) if error is not None else None,
        narrowed=lambda clause: narrowed(text, clause), next_cursor=next_cursor,
        paged=cursor is not None,
    )


@router.get("/alerts/{alert_id}")
async def alert_page(request: Request, services: ServicesDep, viewer: ViewerDep,
                     alert_id: str) -> Response:
    alert = await services.store.alerts.get(alert_id)
    deliveries, _ = await services.store.deliveries.page(alert_id=alert_id, limit=100)
    return render(request, "alert.html", alert=alert, cells=alert_cells(alert.parsed()),
                  columns=[title for title, _ in COLUMNS], deliveries=deliveries,
                  integrations=await integration_names(services),
                  triggers=await trigger_names(services))
