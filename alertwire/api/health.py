"""Liveness and readiness probes (SPEC §9)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from alertwire import metrics
from alertwire.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(services: ServicesDep) -> JSONResponse:
    """The process can reach its database."""
    try:
        await services.store.ping()
    except Exception as exc:  # any failure means "not ready", and says why
        return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "database": services.store.dialect})


@router.get("/metrics", response_class=Response)
async def prometheus_metrics(services: ServicesDep) -> Response:
    """Prometheus text format: alerts, attempts by outcome, latency, queue depth and age."""
    depth, age = await services.store.deliveries.queue_stats()
    metrics.queue_depth.set(depth)
    metrics.oldest_pending_age.set(age)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
