"""The console's Redaction page and an integration's own rules in its form (SPEC §8)."""

from __future__ import annotations

import json

import httpx

from alertwire.domain.samples import falco_alert_with_secrets
from tests.conftest import AppHarness
from tests.integration.test_console import _csrf
from tests.integration.test_delivery import deliveries, failing_with_fallback, post_alerts
from tests.receiver import Receiver, eventually


async def test_preview_shows_what_rules_redact_then_save(
        api: AppHarness, console: tuple[httpx.AsyncClient, str]) -> None:
    """The page lists the defaults and previews the form's rules on the sample with secrets
    (marked, with where and which rule) without saving; Save makes them the deployment's."""
    client, _ = console
    page = await client.get("/redaction")
    assert page.status_code == 200 and "url-credentials" in page.text
    csrf = _csrf(page.text)
    assert "Tr0ub4dor-3" in page.text  # the sample alert, as it is stored
    form = {"csrf": csrf, "action": "preview", "rule_name": ["hosts", ""],
            "rule_field": ["hostname", ""], "rule_pattern": ["", ""],
            "alert": '{"hostname": "db-7", "cmd": "psql postgresql://app:Tr0ub4dor-3@db/x"}'}
    preview = await client.post("/redaction", data=form)
    assert preview.status_code == 200
    assert "Tr0ub4dor-3" not in preview.text.split('id="redaction-preview"')[1]
    assert '<mark class="redacted">[REDACTED]</mark>' in preview.text
    assert '<td data-label="Where" class="mono small">hostname</td><td data-label="Rule">hosts</td>' \
        in preview.text
    assert (await api.client.get("/api/v1/redaction")).json()["rules"] == []  # not saved
    saved = await client.post("/redaction", data=form | {"action": "save"})
    assert saved.status_code == 303
    assert (await api.client.get("/api/v1/redaction")).json()["rules"] == [
        {"name": "hosts", "field": "hostname"}]
    again = await client.get("/redaction")
    assert 'value="hostname"' in again.text


async def test_a_bad_rule_is_shown_at_its_row(api: AppHarness,
                                              console: tuple[httpx.AsyncClient, str]) -> None:
    client, csrf = console
    bad = await client.post("/redaction", data={
        "csrf": csrf, "action": "save", "rule_name": ["ok", "broken"],
        "rule_field": ["a", ""], "rule_pattern": ["", "(unclosed"], "alert": "{}"})
    assert bad.status_code == 422
    assert "Rule 2: pattern is not a valid regular expression" in bad.text
    assert 'value="(unclosed"' in bad.text
    assert (await api.client.get("/api/v1/redaction")).json()["rules"] == []


async def test_an_integrations_own_rules_from_its_form(
        api: AppHarness, console: tuple[httpx.AsyncClient, str]) -> None:
    """The integration form takes a JSON list of rules; a bad one is located; the page's
    preview can add an integration's rules."""
    client, csrf = console
    base = {"csrf": csrf, "name": "siem", "method": "POST", "url": "http://127.0.0.1:9/hook",
            "success_codes": "200", "template": "raw", "action": "save"}
    bad = await client.post("/integrations/new",
                            data=base | {"redaction_rules": '[{"pattern": "("}]'})
    assert bad.status_code == 422 and "Rule 1: pattern is not a valid regular expression" in bad.text
    created = await client.post("/integrations/new",
                                data=base | {"redaction_rules": '[{"field": "Owner.Name"}]'})
    assert created.status_code == 303, created.text
    (item,) = (await api.client.get("/api/v1/integrations")).json()["items"]
    assert item["redaction_rules"] == [{"field": "Owner.Name"}]
    edit = await client.get(f"/integrations/{item['id']}")
    assert "Owner.Name" in edit.text and f"/redaction?integration={item['id']}" in edit.text
    preview = await client.post("/redaction", data={
        "csrf": csrf, "action": "preview", "integration": item["id"],
        "alert": '{"Owner": {"Name": "mysql"}}'})
    assert '<td data-label="Where" class="mono small">Owner.Name</td>' in preview.text


async def test_delivery_page_links_fallbacks_and_shows_the_redacted_payload(
        api: AppHarness, console: tuple[httpx.AsyncClient, str], receiver: Receiver) -> None:
    """A dead delivery's page links the fallback it caused and back; the payload shown is
    what leaves (redacted), not the stored original."""
    client, _ = console
    primary, backup = await failing_with_fallback(api, receiver)
    await post_alerts(api, json.dumps(falco_alert_with_secrets() | {"Action": "Block"}).encode())

    async def rescued() -> bool:
        return any(d["status"] == "delivered"
                   for d in await deliveries(api, integration_id=backup["id"]))

    await eventually(rescued)
    (dead,) = await deliveries(api, integration_id=primary["id"])
    page = (await client.get(f"/deliveries/{dead['id']}")).text
    assert f'href="/deliveries/{dead["fallback_delivery_id"]}" id="fallback-delivery"' in page
    assert "Tr0ub4dor-3" not in page and "postgresql://[REDACTED]@db.internal" in page
    back = (await client.get(f"/deliveries/{dead['fallback_delivery_id']}")).text
    assert f'href="/deliveries/{dead["id"]}" id="fallback-of"' in back
