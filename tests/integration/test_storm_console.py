"""Storm control in the console over plain HTTP: the trigger form's frequency, time zone and
throttle, the silences page, and what each alert caused on the alert list and page (SPEC §4)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from alertwire.domain.triggers import TriggerSpec
from alertwire.store import Store
from tests.conftest import AppHarness
from tests.integration.test_delivery import active_integration, post_alerts, trigger
from tests.integration.test_storm_control import alerts, channel
from tests.receiver import Receiver, eventually


async def _hook(api: AppHarness) -> str:
    created = await api.client.post("/api/v1/integrations",
                                    json={"name": "soc", "url": "http://127.0.0.1:9/x"})
    hook_id: str = created.json()["id"]
    return hook_id


def _trigger_form(csrf: str, hook_id: str, **changes: str) -> dict[str, Any]:
    return {"csrf": csrf, "name": "storm", "filter": "Action = Block", "channels": hook_id,
            "frequency": "realtime", "threat_level": "", "timezone": "UTC", "enabled": "on",
            "throttle_group_by": "", "throttle_period": ""} | changes


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">([^<]*)</p>', html)
    assert found is not None, f"no error shown next to {name}"
    return found.group(1)


async def test_trigger_form_saves_throttle_frequency_and_time_zone(
    api: AppHarness, console: tuple[httpx.AsyncClient, str]
) -> None:
    """A throttle typed as `PolicyName, HostName` and `10m` and a daily digest in a time zone
    are saved as the API's fields, listed in the Frequency column, shown again for editing,
    and an edit that clears the throttle removes it."""
    client, csrf = console
    hook_id = await _hook(api)
    form = await client.get("/triggers/new")
    assert 'name="throttle_period"' in form.text and '<option value="Europe/Berlin">' in form.text
    made = await client.post("/triggers/new", data=_trigger_form(
        csrf, hook_id, throttle_group_by="PolicyName, HostName", throttle_period="10m"))
    assert made.status_code == 303, made.text
    daily = await client.post("/triggers/new", data=_trigger_form(
        csrf, hook_id, name="nightly", frequency="daily", timezone="Europe/Berlin"))
    assert daily.status_code == 303, daily.text
    saved = {t["name"]: t for t in (await api.client.get("/api/v1/triggers")).json()["items"]}
    assert saved["storm"]["throttle"] == {"group_by": ["PolicyName", "HostName"], "period": "10m"}
    assert (saved["nightly"]["frequency"], saved["nightly"]["timezone"]) == \
        ("daily", "Europe/Berlin")
    listed = (await client.get("/triggers")).text
    assert "Throttle: 1 per 10m by PolicyName, HostName" in listed
    assert "Daily digest <span class=\"muted small\">(Europe/Berlin)</span>" in listed

    storm_id = saved["storm"]["id"]
    edit = (await client.get(f"/triggers/{storm_id}")).text
    assert 'value="PolicyName, HostName"' in edit and 'value="10m"' in edit
    cleared = await client.post(f"/triggers/{storm_id}", data=_trigger_form(csrf, hook_id))
    assert cleared.status_code == 303
    assert (await api.client.get(f"/api/v1/triggers/{storm_id}")).json()["throttle"] is None


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"throttle_group_by": "PolicyName", "throttle_period": "10x"}, "throttle",
     "'10x' is not a duration; write e.g. 30s, 10m, 1h or 1d"),
    ({"throttle_group_by": "PolicyName"}, "throttle", "Give a period (e.g. 10m)"),
    ({"throttle_period": "1h"}, "throttle", "Name the fields to group by"),
    ({"throttle_group_by": "PolicyName", "throttle_period": "1h", "frequency": "daily"},
     "throttle", "Throttle applies to realtime triggers"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone", "'Mars/Olympus_Mons' is not an IANA time zone"),
])
async def test_trigger_form_shows_bad_throttle_and_time_zone_inline(
    api: AppHarness, console: tuple[httpx.AsyncClient, str], changes: dict[str, str],
    field: str, message: str,
) -> None:
    """Each mistake comes back as 422 with the form as typed and the message next to the
    field; nothing is saved."""
    client, csrf = console
    answer = await client.post("/triggers/new",
                               data=_trigger_form(csrf, await _hook(api), **changes))
    assert answer.status_code == 422
    assert _field_error(answer.text, field).startswith(message.replace("'", "&#39;"))
    assert (await api.client.get("/api/v1/triggers")).json()["items"] == []


async def test_trigger_form_filter_error_is_positioned(
    api: AppHarness, console: tuple[httpx.AsyncClient, str]
) -> None:
    client, csrf = console
    answer = await client.post("/triggers/new", data=_trigger_form(
        csrf, await _hook(api), filter="Action = Block AND"))
    assert answer.status_code == 422
    assert '<div class="filter-error" id="filter-error" role="alert">' in answer.text
    assert "<mark> </mark>" in answer.text


async def test_silence_lifecycle_in_the_console(
    api: AppHarness, console: tuple[httpx.AsyncClient, str], receiver: Receiver
) -> None:
    """A silence created in the console mutes matching alerts (stored, not delivered, the
    alert list and page say so, the silence counts it) while others are delivered; ending it
    asks first, then it is listed as expired; deleting asks first, then it is gone."""
    client, csrf = console
    hook = await active_integration(api, receiver.url + "/status/204")
    await trigger(api, [hook["id"]], filter="Action = Block", name="blocks")
    receiver.requests.clear()  # the connection test
    made = await client.post("/silences/new", data={
        "csrf": csrf, "filter": "NamespaceName = staging", "duration": "2h",
        "comment": "staging upgrade", "starts_at": "", "ends_at": ""})
    assert made.status_code == 303, made.text
    (silence,) = (await api.client.get("/api/v1/silences")).json()
    assert silence["filter"] == "NamespaceName = staging"
    assert silence["ends_at"] > silence["starts_at"]

    muted, sent = (await post_alerts(api, json.dumps([
        {"Action": "Block", "NamespaceName": "staging"},
        {"Action": "Block", "NamespaceName": "prod"}]).encode()))["ids"]
    await eventually(lambda: len(receiver.requests) == 1)
    assert (await api.client.get(f"/api/v1/alerts/{muted}")).status_code == 200
    by_alert = (await api.client.get("/api/v1/deliveries",
                                     params={"alert_id": muted})).json()["items"]
    assert by_alert == []

    listing = (await client.get("/silences")).text
    assert 'data-state>active</span>' in listing and "staging upgrade" in listing
    assert "<td data-label=\"Muted\" data-muted>1 alert</td>" in listing
    alert_list = (await client.get("/alerts")).text
    row = alert_list[alert_list.index(f'data-alert="{muted}"'):]
    assert f'href="/silences#{silence["id"]}"' in row[:row.index("</tr>")]
    assert "Muted by the silence" in (await client.get(f"/alerts/{muted}")).text
    assert "Muted by the silence" not in (await client.get(f"/alerts/{sent}")).text

    confirm = await client.get(f"/silences/{silence['id']}/end")
    assert confirm.status_code == 200 and "End silence now" in confirm.text
    assert (await client.post(f"/silences/{silence['id']}/end")).status_code == 403
    ended = await client.post(f"/silences/{silence['id']}/end", data={"csrf": csrf})
    assert ended.status_code == 303
    assert 'data-state>expired</span>' in (await client.get("/silences")).text

    assert "Delete silence" in (await client.get(f"/silences/{silence['id']}/delete")).text
    assert (await client.post(f"/silences/{silence['id']}/delete")).status_code == 403
    deleted = await client.post(f"/silences/{silence['id']}/delete", data={"csrf": csrf})
    assert deleted.status_code == 303
    assert (await api.client.get("/api/v1/silences")).json() == []
    assert (await client.get("/silences/sil_missing/end")).status_code == 404


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"filter": "NamespaceName ="}, "filter", "At position 15"),
    ({"duration": "forever"}, "duration", "&#39;forever&#39; is not a duration"),
    ({"starts_at": "tomorrow"}, "starts_at", "Is not a date and time"),
    ({"starts_at": "2030-01-02T10:00", "ends_at": "2030-01-01T10:00"},
     "ends_at", "The silence must end after it starts"),
])
async def test_silence_form_shows_bad_input_inline(
    api: AppHarness, console: tuple[httpx.AsyncClient, str], fields: dict[str, str],
    field: str, message: str,
) -> None:
    """A bad filter (with its position), duration or time is a 422 that names the problem
    next to its field; nothing is created. Without the CSRF token the form is refused."""
    client, csrf = console
    data = {"csrf": csrf, "filter": "", "duration": "1h", "comment": "", "starts_at": "",
            "ends_at": ""} | fields
    answer = await client.post("/silences/new", data=data)
    assert answer.status_code == 422
    if field == "filter":
        assert '<div class="filter-error" id="filter-error" role="alert">' in answer.text
        assert message in answer.text
    else:
        assert _field_error(answer.text, field).startswith(message)
    assert (await client.post("/silences/new", data=data | {"csrf": ""})).status_code == 403
    assert (await api.client.get("/api/v1/silences")).json() == []


async def test_alert_list_and_page_show_triggers_fired_and_deliveries(
    api: AppHarness, console: tuple[httpx.AsyncClient, str], receiver: Receiver
) -> None:
    """An alert sent to two integrations shows `2 deliveries` on the list (linking to its
    page) and, on its page, the trigger it fired and both deliveries; an alert no trigger
    matched shows neither. A throttled trigger's held-back alert says so."""
    client, _ = console
    one = await active_integration(api, receiver.url + "/status/204", name="one")
    two = await active_integration(api, receiver.url + "/status/204", name="two")
    fired = await trigger(api, [one["id"], two["id"]], filter="Action = Block", name="blocks")
    await trigger(api, [one["id"]], filter="Action = Audit", name="audits",
                  throttle={"group_by": ["HostName"], "period": "1h"})
    receiver.requests.clear()  # the connection tests
    sent, quiet, first, held = (await post_alerts(api, json.dumps([
        {"Action": "Block"}, {"Action": "Allow"},
        {"Action": "Audit", "HostName": "n1"}, {"Action": "Audit", "HostName": "n1"},
    ]).encode()))["ids"]
    await eventually(lambda: len(receiver.requests) == 3)

    listing = (await client.get("/alerts")).text
    row = listing[listing.index(f'data-alert="{sent}"'):]
    assert f'<a href="/alerts/{sent}#deliveries-title">2 deliveries' in row[:row.index("</tr>")]
    page = (await client.get(f"/alerts/{sent}")).text
    assert f'<a href="/triggers/{fired["id"]}">blocks</a>' in page
    assert page.count("data-delivery=") == 2
    assert "one</a>" in page and "two</a>" in page
    quiet_page = (await client.get(f"/alerts/{quiet}")).text
    assert "data-delivery=" not in quiet_page and "Muted by" not in quiet_page
    assert "data-delivery=" in (await client.get(f"/alerts/{first}")).text
    held_page = (await client.get(f"/alerts/{held}")).text
    assert "held back by its throttle (HostName = n1)" in held_page


async def test_fan_out_of_a_page_of_alerts_is_one_statement(store: Store) -> None:
    """The deliveries of a whole page of alerts are read with one SQL statement, whatever
    the number of alerts and deliveries (no query per alert)."""
    first, second = await channel(store, "one"), await channel(store, "two")
    await store.triggers.create(TriggerSpec(name="t", filter="Action = Block",
                                            channels=[first, second]))
    ids = (await store.alerts.ingest(alerts(*[{"Action": "Block"}] * 30,
                                            *[{"Action": "Allow"}] * 20))).ids
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = store.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = await store.deliveries.for_alerts(ids)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    queries = [s for s in statements if not s.startswith("BEGIN")]  # SQLite's own BEGIN
    assert len(queries) == 1 and queries[0].startswith("SELECT deliveries.id")
    assert [len(found[i]) for i in ids] == [2] * 30 + [0] * 20
    assert {d.integration_id for d in found[ids[0]]} == {first, second}
