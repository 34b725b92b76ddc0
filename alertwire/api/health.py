"""Liveness, readiness and Prometheus metrics (SPEC §9). No token needed."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from alertwire.api.deps import Services, ServicesDep

router = APIRouter(tags=["health"])
DATABASE_TIMEOUT_SECONDS = 5.0


class LiveOut(BaseModel):
    status: Literal["ok"]


class ReadyOut(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str  # the dialect: sqlite or postgresql
    migration: str | None  # the database's migration revision
    workers: str  # "running", or "none in this process" (`serve --no-workers`)
    error: str | None = None  # why not ready, when not


_READY_EXAMPLE = {"status": "ok", "database": "sqlite", "migration": "0006_waiting_index",
                  "workers": "running"}
_UNREADY_EXAMPLE = {
    "status": "unavailable", "database": "postgresql", "migration": "0006_waiting_index",
    "workers": "running", "error": "the delivery worker is stalled: its claim loop has not "
                                   "come round for 75 s",
}


async def readiness(services: Services) -> ReadyOut:
    """Ready when the database answers, its schema is at this code's newest migration, and
    the delivery worker and scheduler of this process (if it runs them) are alive."""
    problems: list[str] = []
    revision: str | None = None
    try:
        await asyncio.wait_for(services.store.ping(), DATABASE_TIMEOUT_SECONDS)
        revision, head = await asyncio.wait_for(services.store.migration_state(),
                                                DATABASE_TIMEOUT_SECONDS)
        if revision != head:
            problems.append(f"the database schema is at migration {revision or 'none'}; "
                            f"this alertwire expects {head}")
    except Exception as exc:  # any failure means "not ready", and says why
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        problems.append(f"the database is unreachable: {detail}")
    workers = "none in this process"
    if services.worker is not None:
        workers = "running"
        for part in (services.worker, services.scheduler):
            reason = part.health() if part is not None else None
            if reason is not None:
                workers = "not running"
                problems.append(reason)
    return ReadyOut(status="unavailable" if problems else "ok",
                    database=services.store.dialect, migration=revision, workers=workers,
                    error="; ".join(problems) or None)


@router.get("/healthz", response_model=LiveOut, responses={
    200: {"content": {"application/json": {"example": {"status": "ok"}}}}})
async def healthz() -> LiveOut:
    """The process is up (nothing else is checked: see `/readyz`)."""
    return LiveOut(status="ok")


@router.get(
    "/readyz", response_model=ReadyOut, response_model_exclude_none=True,
    responses={
        200: {"content": {"application/json": {"example": _READY_EXAMPLE}}},
        503: {"model": ReadyOut, "description": "Not ready; `error` says why",
              "content": {"application/json": {"example": _UNREADY_EXAMPLE}}},
    },
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """Ready to serve: database reachable, migrations current, workers alive."""
    ready = await readiness(services)
    return JSONResponse(ready.model_dump(exclude_none=True),
                        status_code=200 if ready.status == "ok" else 503)


@router.get("/metrics", response_class=Response, responses={
    200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
          "description": "Prometheus text exposition format"}})
async def prometheus_metrics(services: ServicesDep) -> Response:
    """Alerts received by source, delivery attempts by integration and outcome, attempt
    latency, queue depth, oldest pending age and integrations by status."""
    depth, age = await services.store.deliveries.queue_stats()
    by_status = await services.store.integrations.count_by_status()
    services.metrics.set_database_figures(depth, age, by_status)
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
