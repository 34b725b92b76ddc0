"""`alertwire serve --demo`: a bin, an integration delivering to it and an `Action = Block`
trigger, so `alertwire simulate file-integrity` shows the whole flow at once (SPEC §9)."""

from __future__ import annotations

import asyncio
import logging
import time

from alertwire.api.deps import Services
from alertwire.delivery.connection_test import run_connection_test
from alertwire.domain.bins import BinSpec
from alertwire.domain.integrations import IntegrationCreate
from alertwire.domain.triggers import TriggerSpec
from alertwire.errors import AlertwireError

log = logging.getLogger("alertwire.demo")
BIN_NAME = "demo"
INTEGRATION_NAME = "Demo inspector bin"
TRIGGER_NAME = "Blocked actions (demo)"


async def set_up_demo(services: Services, ready_timeout: float = 20.0) -> str:
    """Create what is missing, test the integration against the live server (retrying until
    the listener is up), connect it, and return a line saying where to look."""
    store = services.store
    demo_bin = await store.bins.find_by_name(BIN_NAME) or await store.bins.create(
        BinSpec(name=BIN_NAME))
    url = f"{services.settings.base_url}/hooks/{demo_bin.id}"
    integrations, _ = await store.integrations.page(search=INTEGRATION_NAME)
    integration = next((i for i in integrations if i.name == INTEGRATION_NAME), None)
    if integration is None:
        integration = await store.integrations.create(IntegrationCreate(
            name=INTEGRATION_NAME, url=url,
            description="Created by `alertwire serve --demo`: delivers to the demo bin."))
    if integration.status != "active":
        deadline = time.monotonic() + ready_timeout
        while True:
            config = integration.config()
            result = await run_connection_test(
                services.http, config, secrets=integration.signing_secrets(time.time()),
                timeout=services.settings.delivery_timeout,
                redactor=await store.redaction.redactor(config.redaction_rules))
            await store.integrations.record_test(
                integration.id, store.integrations.fingerprint(config), result["ok"], result)
            if result["ok"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)  # the listener is not up yet
        if not result["ok"]:
            raise AlertwireError(f"demo integration test failed: {result['error']}")
        integration = await store.integrations.set_status(integration.id, "active")
    triggers, _ = await store.triggers.page(integration_id=integration.id)
    if not any(t.name == TRIGGER_NAME for t in triggers):
        try:
            await store.triggers.create(TriggerSpec(
                name=TRIGGER_NAME, filter="Action = Block", channels=[integration.id]))
        except AlertwireError:
            log.warning("a trigger named %r exists already; left as it is", TRIGGER_NAME)
    return (f"demo ready: run `alertwire simulate file-integrity`, then open "
            f"{services.settings.base_url}/bins or `alertwire inspect --bin {demo_bin.id}`")
