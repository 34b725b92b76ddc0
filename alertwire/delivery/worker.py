"""The delivery worker (SPEC §5): claims due deliveries, sends them through the one shared
HTTP client, records attempts in batches and schedules retries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections import defaultdict
from dataclasses import dataclass

from alertwire.delivery.http import HttpClient, Response, SendError
from alertwire.domain.integrations import IntegrationConfig, mask_headers
from alertwire.domain.outbound import build_request
from alertwire.domain.retry import RetryPolicy, classify, parse_retry_after
from alertwire.errors import NotFound
from alertwire.metrics import Metrics
from alertwire.store import Integration, Store
from alertwire.store.deliveries import AttemptRecord, Claimed

log = logging.getLogger("alertwire.delivery")
RESPONSE_BODY_LIMIT = 4096
INTEGRATION_CACHE_SECONDS = 1.0
IDLE_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class WorkerConfig:
    batch_size: int = 200
    max_in_flight: int = 512  # per-integration caps are the integrations' own, shared
    lease_seconds: float = 30.0
    timeout: float = 15.0
    # /readyz reports the worker stalled when its claim loop has not come round (or a batch
    # of attempts has been recording) for this long.
    stall_after: float = 60.0


class DeliveryWorker:
    def __init__(
        self, store: Store, http: HttpClient, policy: RetryPolicy, config: WorkerConfig,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.http = http
        self.policy = policy
        self.config = config
        self.metrics = metrics if metrics is not None else Metrics()
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()
        self._flush = asyncio.Event()
        self._stopping = False
        self._closing = False
        self._in_flight: dict[str, int] = defaultdict(int)
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[AttemptRecord] = []
        self._cancelled: list[Claimed] = []
        # integration id → (fetched at, the integration, its validated configuration)
        self._integrations: dict[str, tuple[float, Integration | None, IntegrationConfig | None]] = {}
        # The last claim left due work behind for lack of capacity: finished sends must wake
        # the claimer. Otherwise they need not, and a trickle of alerts costs one claim each.
        self._held_back = False
        # The last claim filled a batch: older work waits in the database, so new deliveries
        # are not handed over ahead of it (`reserve`).
        self._backlog = False
        self._next_due: float | None = None  # when waiting work next falls due, last we asked
        self._reading: dict[str, asyncio.Future[
            tuple[Integration | None, IntegrationConfig | None]]] = {}
        self._claimer: asyncio.Task[None] | None = None
        self._recorder: asyncio.Task[None] | None = None
        self._turned_at = time.monotonic()  # the claim loop's last turn
        self._recording_since: float | None = None

    def wake(self) -> None:
        """New deliveries were committed: claim now instead of at the next poll."""
        self._wake.set()

    @property
    def lease_seconds(self) -> float:
        return self.config.lease_seconds

    def reserve(self, integration_id: str) -> bool:
        """Take one new delivery for `integration_id` straight from the ingest transaction
        (`store.alerts.Lessee`; its limits were checked there)? Not while stopping, while
        older work waits, or past this worker's own cap."""
        if self._stopping or self._backlog \
                or sum(self._in_flight.values()) >= self.config.max_in_flight:
            return False
        self._in_flight[integration_id] += 1
        return True

    def release(self, claimed: list[Claimed]) -> None:
        for item in claimed:
            self._done_with(item.integration_id)

    def adopt(self, claimed: list[Claimed]) -> None:
        """Deliveries leased to this worker by the ingest transaction, now committed. Once
        stopping, it leaves them leased: they are claimed again when the lease ends."""
        if self._stopping:
            self.release(claimed)
            return
        for item in claimed:
            self._start(item)

    async def start(self) -> None:
        self._turned_at = time.monotonic()
        self._claimer = asyncio.create_task(self._claim_loop(), name="claim")
        self._recorder = asyncio.create_task(self._record_loop(), name="record")
        for task in (self._claimer, self._recorder):
            task.add_done_callback(_report_death)

    def health(self, now: float | None = None) -> str | None:
        """None while the worker works; otherwise why it does not (for /readyz)."""
        now = time.monotonic() if now is None else now
        for task, what in ((self._claimer, "claim loop"), (self._recorder, "attempt recorder")):
            if task is None:
                return "the delivery worker was not started"
            if task.done():
                return f"the delivery worker's {what} has stopped{_death_cause(task)}"
        if now - self._turned_at > self.config.stall_after:
            return (f"the delivery worker is stalled: its claim loop has not come round for "
                    f"{now - self._turned_at:.0f} s")
        if self._recording_since is not None \
                and now - self._recording_since > self.config.stall_after:
            return (f"the delivery worker is stalled: recording attempts has taken "
                    f"{now - self._recording_since:.0f} s")
        return None

    async def stop(self) -> None:
        """Stop claiming, let in-flight deliveries finish, record them, then return."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.config.timeout + 5)
        assert self._claimer is not None and self._recorder is not None, "never started"
        self._claimer.cancel()
        # A claim loop that died was reported when it did; stopping still records what is left.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._claimer
        # The recorder is never cancelled: a batch cut off mid-write would be lost with it
        # (then sent again once its lease ends). It finishes its write and returns.
        self._closing = True
        self._flush.set()
        await self._recorder
        await self._record_pending()

    async def _claim_loop(self) -> None:
        while not self._stopping:
            self._turned_at = time.monotonic()
            self._wake.clear()
            claimed: list[Claimed] = []
            free = self.config.max_in_flight - sum(self._in_flight.values())
            self._held_back = free <= 0
            if free > 0:
                try:
                    claims = await self.store.deliveries.claim(
                        self.worker_id, limit=min(self.config.batch_size, free),
                        lease_seconds=self.config.lease_seconds,
                    )
                except Exception:  # the database may be restarting: log, wait, try again
                    log.exception("claiming deliveries failed; retrying shortly")
                    await asyncio.sleep(1)
                    continue
                claimed, self._held_back = claims, claims.held_back
            for item in claimed:
                self._in_flight[item.integration_id] += 1
                self._start(item)
            self._backlog = len(claimed) >= self.config.batch_size
            if self._backlog:
                continue
            await self._idle(asked=not claimed)

    def _start(self, item: Claimed) -> None:
        """Send a delivery this worker holds (counted in `_in_flight` already)."""
        task = asyncio.create_task(self._deliver(item))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _done_with(self, integration_id: str) -> None:
        self._in_flight[integration_id] -= 1
        if self._in_flight[integration_id] <= 0:
            del self._in_flight[integration_id]

    async def _idle(self, asked: bool) -> None:
        """Sleep until woken (new deliveries, or a send finished and freed capacity), until the
        next retry falls due, or for a poll interval at most. Work that is due but blocked by
        a concurrency cap waits for a wake-up, so a saturated endpoint is not polled in a loop."""
        if self._wake.is_set():
            return
        timeout = IDLE_POLL_SECONDS
        # After a claim that found work, the last answer still holds: what that work leads
        # to (a retry, a fallback) wakes the claimer when it is recorded.
        if asked:
            with contextlib.suppress(Exception):
                self._next_due = await self.store.deliveries.next_due_at()
        now = time.time()
        if self._next_due is not None and self._next_due > now:
            timeout = min(timeout, self._next_due - now)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def _integration(
        self, integration_id: str
    ) -> tuple[Integration | None, IntegrationConfig | None]:
        """The integration and its configuration, re-read at most once a second (validating
        the configuration is not free, and every delivery needs it). Deliveries that find
        it stale together share one read: otherwise each would hold a database connection
        for it at the same moment (a batch of 128 filled the pool, 40 connections)."""
        cached = self._integrations.get(integration_id)
        if cached is not None and time.monotonic() - cached[0] < INTEGRATION_CACHE_SECONDS:
            return cached[1], cached[2]
        reading = self._reading.get(integration_id)
        if reading is None:
            reading = self._reading[integration_id] = asyncio.ensure_future(
                self._read_integration(integration_id))
            reading.add_done_callback(lambda _: self._reading.pop(integration_id, None))
        return await asyncio.shield(reading)

    async def _read_integration(
        self, integration_id: str
    ) -> tuple[Integration | None, IntegrationConfig | None]:
        now = time.monotonic()
        try:
            found: Integration | None = await self.store.integrations.get(integration_id)
        except NotFound:
            found = None
        config = found.config() if found is not None else None
        self._integrations[integration_id] = (now, found, config)
        return found, config

    async def _deliver(self, item: Claimed) -> None:
        try:
            integration, config = await self._integration(item.integration_id)
            if integration is None or config is None or integration.status != "active" \
                    or item.body is None:
                self._cancelled.append(item)
            else:
                # Await first: `self._outcomes` is swapped by the recorder meanwhile, and an
                # append to the old list would be lost.
                outcome = await self._attempt(item, integration, config)
                self._outcomes.append(outcome)
        except Exception:  # never lose the loop; the lease expires and it is tried again
            log.exception("delivery %s failed unexpectedly", item.id)
        finally:
            self._done_with(item.integration_id)
            self._flush.set()  # the recorder wakes the claimer once the lease is cleared

    async def _attempt(
        self, item: Claimed, integration: Integration, config: IntegrationConfig
    ) -> AttemptRecord:
        assert item.body is not None
        redactor = await self.store.redaction.redactor(config.redaction_rules)
        now = time.time()
        request = build_request(
            config, item.body.encode(), message_id=item.id,
            timestamp=int(now), secrets=integration.signing_secrets(now), redactor=redactor,
        )
        if item.kind != "alert":
            # A throttled alert or a digest stands for several alerts: say how many.
            request.headers["alertwire-kind"] = item.kind
            request.headers["alertwire-alert-count"] = str(item.alert_count)
        response: Response | None = None
        error_kind: str | None = None
        error: str | None = None
        try:
            response = await self.http.send(
                request.method, request.url, headers=request.headers, body=request.body,
                params=request.params, timeout=self.config.timeout,
                max_body=RESPONSE_BODY_LIMIT,
            )
        except SendError as exc:
            error_kind, error = exc.kind, exc.message
        status = response.status if response else None
        verdict = classify(status, integration.success_codes, error_kind)
        attempts_made = item.attempt_count + 1
        next_at: float | None = None
        disable: str | None = None
        if verdict == "delivered":
            state = "delivered"
        elif verdict == "retry":
            retry_after = None
            if response is not None:
                retry_after = parse_retry_after(response.header("retry-after"), now)
            delay = self.policy.next_delay(attempts_made, retry_after)
            state = "dead" if delay is None else "failed"
            next_at = None if delay is None else now + delay
        else:
            state = "dead"
            if verdict == "gone":
                disable = "disabled automatically: the receiver answered 410 Gone"
        if status is not None and verdict != "delivered" and error is None:
            error = f"status {status} is not a success code"
        latency_ms = round(response.latency_ms, 1) if response else None
        _log_attempt(item, attempts_made, status, state, latency_ms, error, next_at)
        return AttemptRecord(
            delivery_id=item.id, integration_id=integration.id, attempted_at=now,
            status_code=status, latency_ms=latency_ms,
            error=error, request_method=request.method, request_url=request.url,
            request_headers=mask_headers(request.headers),
            response_headers=response.merged_headers() if response else None,
            response_body=response.body.decode("utf-8", "replace") if response else None,
            status=state, next_attempt_at=next_at, succeeded=state == "delivered",
            disable_reason=disable,
            fallback_to=integration.fallback_id
            if state == "dead" and not item.is_fallback else None,
        )

    async def _record_loop(self) -> None:
        while True:
            await self._flush.wait()
            self._flush.clear()
            # No waiting to fill a batch: sends that finish while a batch is being written
            # make up the next one, so batches grow with load and latency stays low.
            unsettled = await self._record_pending()
            if self._closing:
                return
            if self._held_back or unsettled:
                # Capacity is free again in the database, or a retry or a fallback now
                # waits: the claimer looks again (and recomputes when to wake).
                self._wake.set()

    async def _record_pending(self) -> bool:
        """Record what finished; whether any of it still waits (a retry or a fallback)."""
        outcomes, self._outcomes = self._outcomes, []
        cancelled, self._cancelled = self._cancelled, []
        self._recording_since = time.monotonic()
        try:
            await self.store.deliveries.record(outcomes)
            await self.store.deliveries.cancel([c.id for c in cancelled],
                                               "integration is not active")
            for outcome in outcomes:
                self.metrics.attempt(outcome.integration_id, outcome.status, outcome.latency_ms)
            for item in cancelled:
                self.metrics.cancelled(item.integration_id)
        except Exception:
            # Unrecorded attempts are retried once their lease ends: at-least-once holds.
            log.exception("recording %d attempts failed", len(outcomes))
        finally:
            self._recording_since = None
        return any(outcome.status != "delivered" for outcome in outcomes)


def _log_attempt(
    item: Claimed, attempt: int, status_code: int | None, outcome: str,
    latency_ms: float | None, error: str | None, next_attempt_at: float | None,
) -> None:
    """One structured event per attempt: ids, status, outcome, latency and the error, and
    nothing of the request itself (its URL and headers may carry credentials)."""
    level = logging.INFO if outcome == "delivered" else logging.WARNING
    if not log.isEnabledFor(level):
        return
    retry = "" if next_attempt_at is None else f"; next try in {next_attempt_at - time.time():.0f} s"
    log.log(
        level, "delivery %s attempt %d: %s%s%s", item.id, attempt, outcome,
        "" if status_code is None else f" (status {status_code})", retry,
        extra={
            "event": "delivery_attempt", "delivery_id": item.id,
            "integration_id": item.integration_id, "trigger_id": item.trigger_id,
            "alert_id": item.alert_id, "attempt": attempt, "status_code": status_code,
            "outcome": outcome, "latency_ms": latency_ms, "error": error,
            "next_attempt_at": next_attempt_at,
        },
    )


def _death_cause(task: asyncio.Task[None]) -> str:
    if task.cancelled():
        return " (cancelled)"
    exc = task.exception()
    return "" if exc is None else f": {type(exc).__name__}: {exc}"


def _report_death(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("the delivery worker's %s task died; deliveries from this process have "
                     "stopped", task.get_name(), exc_info=task.exception())

