"""The ASGI application: JSON API, health, and (later) console and inspector."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

import alertwire
from alertwire import bootstrap, console
from alertwire.api import (
    alerts,
    bins,
    config,
    deliveries,
    drills,
    errors,
    health,
    hooks,
    integrations,
    openapi,
    redaction,
    silences,
    tokens,
    triggers,
)
from alertwire.api.bodies import ApiBodyLimit
from alertwire.api.deps import Services
from alertwire.delivery.http import HttpClient
from alertwire.delivery.scheduler import Scheduler
from alertwire.delivery.worker import DeliveryWorker, WorkerConfig
from alertwire.demo import set_up_demo
from alertwire.domain.crypto import Cipher
from alertwire.domain.retry import RetryPolicy
from alertwire.inspector.hub import BinHub
from alertwire.inspector.own_bins import OwnBins
from alertwire.metrics import Metrics
from alertwire.settings import Settings
from alertwire.store import Store
from alertwire.store.notify import DeliveryListener


async def start_services(settings: Settings) -> tuple[Services, bootstrap.AdminToken]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(
        settings.sqlalchemy_url, Cipher(bootstrap.secret_key(settings)),
        auto_disable_after=settings.auto_disable_after,
        circuit_cooldown=settings.circuit_cooldown,
    )
    admin = await bootstrap.ensure_admin_token(settings, store)
    own_bins = OwnBins.from_settings(settings)
    http = HttpClient(settings.allowed_targets)
    http.route_own_bins(own_bins)
    await http.start()
    services = Services(settings=settings, store=store, http=http, hub=BinHub(),
                        own_bins=own_bins, metrics=Metrics())
    if settings.workers:
        services.worker = DeliveryWorker(
            store, http, RetryPolicy(settings.retry_schedule),
            WorkerConfig(lease_seconds=settings.lease_seconds, timeout=settings.delivery_timeout,
                         stall_after=settings.worker_stall_after),
            services.metrics,
        )
        await services.worker.start()
        if store.dialect == "sqlite":
            # The only worker there is: it takes new deliveries inside the ingest
            # transaction instead of claiming them after it.
            store.alerts.lessee = services.worker
        services.scheduler = Scheduler(store, services.wake_workers)
        services.scheduler.start()
        if store.dialect == "postgresql" and settings.database_url:
            # Deliveries committed by other processes (API servers) wake this worker at once.
            services.listener = DeliveryListener(settings.asyncpg_dsn, services.wake_workers)
            services.listener.start()
    return services, admin


async def stop_services(services: Services) -> None:
    """Drain in-flight deliveries first, then close the client and the database."""
    if services.listener is not None:
        await services.listener.stop()
    if services.scheduler is not None:
        await services.scheduler.stop()
    if services.worker is not None:
        services.store.alerts.lessee = None
        await services.worker.stop()
    await services.http.close()
    await services.store.close()


async def _demo(services: Services) -> None:
    # Runs once the server listens: the demo integration's test goes to the server itself.
    try:
        print(await set_up_demo(services), flush=True)
    except Exception:
        logging.getLogger("alertwire.demo").exception("setting up the demo failed")


def create_app(
    settings: Settings, announce: Callable[[bootstrap.AdminToken], None] | None = None
) -> FastAPI:
    """`announce` is told about the admin token once the server is ready (the CLI prints it)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services, admin = await start_services(settings)
        app.state.services = services
        app.state.admin_token = admin
        if announce is not None:
            announce(admin)
        demo = asyncio.create_task(_demo(services)) if settings.demo else None
        try:
            yield
        finally:
            if demo is not None:
                demo.cancel()
            await stop_services(services)

    app = FastAPI(
        title="alertwire",
        version=alertwire.__version__,
        description="Runtime-security alerts to the webhooks that must act on them.",
        lifespan=lifespan,
        # alertwire's own observability is /metrics and its JSON logs; FastAPI's native
        # OpenTelemetry hooks would otherwise ask the (unconfigured) providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    errors.install(app)
    app.add_middleware(ApiBodyLimit)
    app.add_middleware(alerts.AlertIntake)  # added last: it sees requests first
    # Routes are matched in order, and matching costs: the busiest path (alerts in) first.
    app.include_router(alerts.router)
    app.include_router(health.router)
    app.include_router(integrations.router)
    app.include_router(triggers.router)
    app.include_router(silences.router)
    app.include_router(deliveries.router)
    app.include_router(drills.router)
    app.include_router(tokens.router)
    app.include_router(config.router)
    app.include_router(redaction.router)
    app.include_router(bins.router)
    app.include_router(hooks.router)
    app.include_router(console.router)
    app.mount("/static", console.static_files(), name="static")
    openapi.install(app)
    return app
