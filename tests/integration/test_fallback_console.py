"""The integration form's Fallback (SPEC §5): chosen from the other integrations; a cycle is
refused at the field."""

from __future__ import annotations

import httpx

from tests.conftest import AppHarness


async def test_fallback_is_set_from_the_form_and_a_cycle_is_refused(
        api: AppHarness, console: tuple[httpx.AsyncClient, str]) -> None:
    client, csrf = console
    base = {"csrf": csrf, "method": "POST", "success_codes": "200", "template": "raw",
            "action": "save"}
    assert (await client.post("/integrations/new", data=base | {
        "name": "backup", "url": "http://127.0.0.1:9/b", "fallback": ""})).status_code == 303
    ids = {i["name"]: i["id"] for i in (await api.client.get("/api/v1/integrations")).json()["items"]}
    form = await client.get("/integrations/new")
    assert f'<option value="{ids["backup"]}">backup</option>' in form.text
    created = await client.post("/integrations/new", data=base | {
        "name": "siem", "url": "http://127.0.0.1:9/s", "fallback": ids["backup"]})
    assert created.status_code == 303
    ids = {i["name"]: i for i in (await api.client.get("/api/v1/integrations")).json()["items"]}
    assert ids["siem"]["fallback"] == ids["backup"]["id"]
    edit = await client.get(f"/integrations/{ids['siem']['id']}")
    assert f'<option value="{ids["backup"]["id"]}" selected>backup</option>' in edit.text
    assert f'value="{ids["siem"]["id"]}"' not in edit.text.split('id="fallback"')[1].split("</select>")[0]
    cycle = await client.post(f"/integrations/{ids['backup']['id']}", data=base | {
        "name": "backup", "url": "http://127.0.0.1:9/b", "fallback": ids["siem"]["id"]})
    assert cycle.status_code == 422
    field = cycle.text.split('id="fallback"')[1].split("</div>")[0]
    assert "Fallback cycle: backup → siem → backup" in field
    cleared = await client.post(f"/integrations/{ids['siem']['id']}", data=base | {
        "name": "siem", "url": "http://127.0.0.1:9/s", "fallback": ""})
    assert cleared.status_code == 303
    assert (await api.client.get(f"/api/v1/integrations/{ids['siem']['id']}")).json()["fallback"] is None
