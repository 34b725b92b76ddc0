"""Secret template options (PagerDuty's `routing_key`, marked `writeOnly` in the option
schema) are handled like secret header values: encrypted at rest, masked in the API and the
console, kept when a client sends the masked value back, and still sent on the wire."""

from __future__ import annotations

import json
from typing import Any

import httpx

from alertwire.domain.integrations import IntegrationCreate
from alertwire.store import Store
from alertwire.store.schema import integrations
from tests.conftest import AppHarness, raw_dump
from tests.integration.test_delivery import FIM, active_integration, post_alerts, trigger
from tests.receiver import Receiver, eventually

KEY = "R0uTiNgKeY0123456789abcdefABCDEF"
MASKED = "R0uT…****"


async def pagerduty(api: AppHarness, url: str, **options: Any) -> dict[str, Any]:
    created = await api.client.post("/api/v1/integrations", json={
        "name": "pd", "url": url, "template": "pagerduty",
        "template_options": {"routing_key": KEY} | options})
    assert created.status_code == 201, created.text
    found: dict[str, Any] = created.json()
    return found


async def body_of_test(api: AppHarness, receiver: Receiver, integration_id: str) -> Any:
    """The body a Test Connection of the saved integration sends."""
    receiver.requests.clear()
    tested = await api.client.post(f"/api/v1/integrations/{integration_id}/test")
    assert tested.json()["ok"], tested.text
    return json.loads(receiver.requests[-1].body)


async def test_store_encrypts_secret_options(store: Store) -> None:
    """On SQLite and PostgreSQL: the key is not in the database in clear, reads back as
    saved, and a key saved in clear before it was marked secret still reads."""
    created = await store.integrations.create(IntegrationCreate(
        name="pd", url="https://events.pagerduty.com/v2/enqueue", template="pagerduty",
        template_options={"routing_key": KEY, "source": "k8s"}))
    assert KEY not in await raw_dump(store)
    assert (await store.integrations.get(created.id)).template_options == {
        "routing_key": KEY, "source": "k8s"}
    async with store.engine.begin() as conn:
        await conn.execute(integrations.update().values(template_options={"routing_key": KEY}))
    assert (await store.integrations.get(created.id)).template_options == {"routing_key": KEY}


async def test_schema_marks_the_routing_key_write_only(api: AppHarness) -> None:
    """The template list says which options are secrets, and only those."""
    listed = (await api.client.get("/api/v1/integrations/templates")).json()["items"]
    marked = {t["name"]: sorted(n for n, s in t["options_schema"]["properties"].items()
                                if s.get("writeOnly")) for t in listed}
    assert marked["pagerduty"] == ["routing_key"]
    assert not any(names for name, names in marked.items() if name != "pagerduty")


async def test_routing_key_is_masked_encrypted_and_still_sent(
        api: AppHarness, receiver: Receiver) -> None:
    """Neither the API's answers nor the database hold the key in clear; Test Connection
    and a real delivery send it."""
    created = await pagerduty(api, receiver.url + "/status/202", source="k8s")
    assert created["template_options"] == {"routing_key": MASKED, "source": "k8s"}
    got = await api.client.get(f"/api/v1/integrations/{created['id']}")
    listed = await api.client.get("/api/v1/integrations")
    assert KEY not in got.text and KEY not in listed.text
    assert got.json()["template_options"]["routing_key"] == MASKED
    assert KEY not in await raw_dump(api.services.store)

    hook = await active_integration(api, receiver.url + "/pd", name="pd live",
                                    template="pagerduty",
                                    template_options={"routing_key": KEY})
    assert json.loads(receiver.requests[-1].body)["routing_key"] == KEY  # its test
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    await post_alerts(api, FIM)
    await eventually(lambda: len(receiver.requests) == 1)
    assert json.loads(receiver.requests[0].body)["routing_key"] == KEY


async def test_patch_keeps_the_key_unless_it_is_replaced(
        api: AppHarness, receiver: Receiver) -> None:
    """Changing other fields, or sending back the masked options the API showed, keeps the
    key; a new key replaces it; another template starts without it."""
    iid = (await pagerduty(api, receiver.url + "/status/202"))["id"]
    url = f"/api/v1/integrations/{iid}"

    renamed = await api.client.patch(url, json={"name": "paging"})
    assert renamed.status_code == 200, renamed.text
    assert (await body_of_test(api, receiver, iid))["routing_key"] == KEY

    shown = (await api.client.get(url)).json()["template_options"]
    edited = await api.client.patch(url, json={"template_options": shown | {"source": "prod"}})
    assert edited.json()["template_options"] == {"routing_key": MASKED, "source": "prod"}
    sent = await body_of_test(api, receiver, iid)
    assert (sent["routing_key"], sent["payload"]["source"]) == (KEY, "prod")

    other = "0" * 32
    replaced = await api.client.patch(url, json={"template_options": {"routing_key": other}})
    assert replaced.json()["template_options"] == {"routing_key": "0000…****"}
    assert (await body_of_test(api, receiver, iid))["routing_key"] == other

    wrong = await api.client.patch(url, json={"template_options": {"routing_key": "0000…*"}})
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "template_options.routing_key"



def edit_form(csrf: str, url: str, options: str, name: str = "pd") -> dict[str, str]:
    return {"csrf": csrf, "name": name, "method": "POST", "url": url, "success_codes": "202",
            "test_payload": "", "description": "", "header_name": "", "header_value": "",
            "template": "pagerduty", "template_options": options}


async def test_console_edit_form_masks_and_keeps_the_key(
        api: AppHarness, receiver: Receiver, console: tuple[httpx.AsyncClient, str]) -> None:
    """The edit page shows the key masked, its preview renders with the saved key but shows
    it masked, and saving the form as shown keeps the key."""
    client, csrf = console
    target = receiver.url + "/status/202"
    iid = (await pagerduty(api, target))["id"]
    page = await client.get(f"/integrations/{iid}")
    assert page.status_code == 200
    assert KEY not in page.text and MASKED in page.text
    shown = json.dumps({"routing_key": MASKED})

    previewed = await client.post(f"/integrations/{iid}/preview", data={
        "csrf": csrf, "template": "pagerduty", "template_options": shown})
    assert previewed.status_code == 200, previewed.text
    assert previewed.json()["body"]["routing_key"] == MASKED
    assert KEY not in previewed.text
    unsaved = await client.post("/integrations/preview", data={
        "csrf": csrf, "template": "pagerduty", "template_options": shown})
    assert unsaved.status_code == 422  # a new form has no saved key to stand for
    assert "routing_key" in unsaved.json()["error"]

    saved = await client.post(f"/integrations/{iid}",
                              data=edit_form(csrf, target, shown, name="renamed"))
    assert saved.status_code == 303, saved.text
    assert (await body_of_test(api, receiver, iid))["routing_key"] == KEY
    assert KEY not in await raw_dump(api.services.store)


async def test_console_edit_preview_needs_csrf_and_a_known_integration(
        api: AppHarness, receiver: Receiver, console: tuple[httpx.AsyncClient, str]) -> None:
    client, csrf = console
    iid = (await pagerduty(api, receiver.url + "/status/202"))["id"]
    forged = await client.post(f"/integrations/{iid}/preview", data={"template": "pagerduty"})
    assert forged.status_code == 403
    missing = await client.post("/integrations/itg_nosuch/preview",
                                data={"csrf": csrf, "template": "raw"},
                                headers={"Accept": "application/json"})
    assert missing.status_code == 404
    bad = await client.post(f"/integrations/{iid}/preview",
                            data={"csrf": csrf, "template": "pagerduty",
                                  "template_options": "{oops"})
    assert bad.status_code == 422
    assert "not valid JSON" in bad.json()["error"]
