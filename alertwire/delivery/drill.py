"""Running a fire drill: the labelled test alert, sent at once and directly (not through the
delivery queue) to every active integration an enabled trigger would route it to, one
request each, and a report on every integration, the ones skipped included.

Nothing is stored: no alert, no delivery, no attempt. A drill must not show up in the alert
list, a digest or the delivery metrics; its report is the answer to the request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from alertwire.delivery.direct import send_now
from alertwire.delivery.http import HttpClient
from alertwire.domain.crypto import new_id
from alertwire.domain.drills import DrillPlan, Outcome, TriggerCheck, failure_reason, label_alert, plan
from alertwire.domain.samples import kubearmor_file_integrity_alert
from alertwire.store import Integration, Store, Trigger
from alertwire.store.paging import every

log = logging.getLogger("alertwire.drill")
# Sends in flight at once: enough that a few slow destinations do not hold up the drill,
# few enough not to crowd out the delivery workers sharing the HTTP client.
DRILL_CONCURRENCY = 8


@dataclass(frozen=True)
class IntegrationResult:
    integration_id: str
    name: str
    status: Outcome
    reason: str | None  # None when delivered
    status_code: int | None
    latency_ms: float | None
    triggers: tuple[TriggerCheck, ...]


@dataclass(frozen=True)
class DrillReport:
    id: str
    started_at: float
    finished_at: float
    alert: dict[str, Any]  # as sent, label included
    integrations: list[IntegrationResult]

    def summary(self) -> dict[str, int]:
        counts = {"delivered": 0, "failed": 0, "skipped": 0}
        for result in self.integrations:
            counts[result.status] += 1
        return counts


async def run_drill(
    store: Store, http: HttpClient, *, timeout: float,
    alert: Mapping[str, Any] | None = None, concurrency: int = DRILL_CONCURRENCY,
) -> DrillReport:
    """Send `alert` (default: the sample KubeArmor alert), labelled as a drill, through every
    trigger to every integration, each send limited by `timeout`."""
    drill_id = new_id("drl")
    started_at = time.time()
    original = dict(alert) if alert is not None else kubearmor_file_integrity_alert(started_at)
    labelled = label_alert(original, drill_id)
    payload = json.dumps(labelled).encode()
    integrations: list[Integration] = await every(store.integrations.page)
    triggers: list[Trigger] = await every(store.triggers.page)
    plans = plan(integrations, triggers, original)
    by_id = {i.id: i for i in integrations}
    gate = asyncio.Semaphore(concurrency)

    async def run(planned: DrillPlan) -> IntegrationResult:
        if planned.skip is not None:
            return IntegrationResult(planned.integration_id, planned.name, "skipped",
                                     planned.skip, None, None, planned.triggers)
        integration = by_id[planned.integration_id]
        async with gate:
            now = time.time()
            try:
                config = integration.config()
                sent = await send_now(
                    http, config, payload,
                    message_id=f"msg_{drill_id}_{integration.id}",
                    secrets=integration.signing_secrets(now), timeout=timeout,
                    redactor=await store.redaction.redactor(config.redaction_rules),
                    extra_headers={"alertwire-kind": "drill", "alertwire-drill-id": drill_id},
                )
            except Exception as exc:  # one integration's problem must not lose the report
                log.exception("fire drill %s: sending to %s failed unexpectedly", drill_id,
                              integration.id)
                return IntegrationResult(integration.id, integration.name, "failed",
                                         f"unexpected error: {type(exc).__name__}: {exc}",
                                         None, None, planned.triggers)
        return IntegrationResult(
            integration.id, integration.name, "delivered" if sent.ok else "failed",
            None if sent.ok else failure_reason(sent.error, sent.error_kind),
            sent.status_code, sent.latency_ms, planned.triggers,
        )

    results = await asyncio.gather(*(run(p) for p in plans))
    report = DrillReport(drill_id, started_at, time.time(), labelled, list(results))
    counts = report.summary()
    # One event per drill, for the record; the failures are the drill's findings, not the
    # server's, so they are in the report rather than logged as warnings.
    log.info("fire drill %s: %d delivered, %d failed, %d skipped", drill_id,
             counts["delivered"], counts["failed"], counts["skipped"],
             extra={"event": "fire_drill", "drill_id": drill_id, **counts})
    return report
