"""`/api/v1/alerts` and `/api/v1/triggers` over HTTP (SPEC §3, §4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alertwire.store.schema import integrations
from tests.conftest import ADMIN_TOKEN, AppHarness, fixture_files, make_settings, start_app


@pytest.fixture
async def api_no_workers(tmp_path: Path) -> Any:
    """The app with no delivery worker: what was committed stays visible as pending."""
    async for harness in start_app(make_settings(tmp_path, workers=False)):
        yield harness


async def ingest(api: AppHarness, body: bytes, status: int = 202) -> dict[str, Any]:
    response = await api.client.post("/api/v1/alerts", content=body,
                                     headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_every_fixture_ingests_and_lists_with_its_source(api: AppHarness) -> None:
    """All upstream samples go in and come back, newest first, with the right source and
    exactly the received text."""
    files = fixture_files()
    for path in files:
        await ingest(api, path.read_bytes())
    listed = (await api.client.get("/api/v1/alerts", params={"limit": 100})).json()
    assert len(listed["items"]) == len(files)
    for item, path in zip(listed["items"], reversed(files), strict=True):
        expected = "falco" if "falco" in path.parts else "kubearmor"
        assert item["source"] == expected, path.name
        assert item["alert"] == json.loads(path.read_bytes())
    one = await api.client.get(f"/api/v1/alerts/{listed['items'][0]['id']}")
    assert one.status_code == 200
    raw = one.content.decode()
    assert raw.endswith(f', "alert": {files[-1].read_text().strip()}}}')


async def test_key_order_and_number_spelling_survive(api: AppHarness) -> None:
    """An alert reads back with its keys in received order and numbers as written."""
    accepted = await ingest(api, b'{"z": 1.50, "a": 10E2, "m": [true, null]}')
    text = (await api.client.get(f"/api/v1/alerts/{accepted['ids'][0]}")).text
    assert text.endswith('"alert": {"z": 1.50, "a": 10E2, "m": [true, null]}}')


async def test_alerts_and_deliveries_commit_together(
    api_no_workers: AppHarness, receiver: Any
) -> None:
    """By the time of the 202, the deliveries the alerts cause are already stored."""
    api = api_no_workers
    created = (await api.client.post(
        "/api/v1/integrations", json={"name": "r", "url": receiver.url})).json()
    await api.client.post(f"/api/v1/integrations/{created['id']}/test")
    await api.client.post(f"/api/v1/integrations/{created['id']}/connect")
    await api.client.post("/api/v1/triggers", json={
        "name": "blocks", "filter": "Action = Block", "channels": [created["id"]]})
    accepted = await ingest(api, json.dumps(
        [{"Action": "Block", "i": i} for i in range(5)] + [{"Action": "Allow"}]).encode())
    assert accepted["accepted"] == 6
    pending = (await api.client.get("/api/v1/deliveries", params={"status": "pending"})).json()
    assert sorted(d["alert_id"] for d in pending["items"]) == sorted(accepted["ids"][:5])


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'[{"Action": "Block"}, {"Action": ', 400, "item 1"),
        (b"[1, 2]", 400, "expected a JSON object"),
        (b"", 400, "empty"),
        (json.dumps([{"i": i} for i in range(10_001)]).encode(), 413, "10000"),
    ],
)
async def test_rejected_requests_store_nothing(
    api: AppHarness, body: bytes, status: int, message: str
) -> None:
    """A bad request answers 400/413 with what is wrong, and none of it is stored."""
    response = await api.client.post("/api/v1/alerts", content=body,
                                     headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert message in response.json()["message"]
    assert (await api.client.get("/api/v1/alerts")).json()["items"] == []


async def test_oversize_body_is_413(api: AppHarness) -> None:
    """Over 10 MiB is refused before parsing."""
    body = b'{"x": "' + b"a" * (10 * 1024 * 1024 + 1) + b'"}'
    response = await api.client.post("/api/v1/alerts", content=body)
    assert response.status_code == 413
    assert "10 MiB" in response.json()["message"]


async def test_ingest_scope(api: AppHarness) -> None:
    """An ingest token posts alerts but cannot list them; a read token cannot post."""
    ingest_token = (await api.client.post(
        "/api/v1/tokens", json={"name": "falco", "scopes": ["ingest"]})).json()["token"]
    read_token = (await api.client.post(
        "/api/v1/tokens", json={"name": "dash", "scopes": ["read"]})).json()["token"]
    as_ingest = {"Authorization": f"Bearer {ingest_token}"}
    as_read = {"Authorization": f"Bearer {read_token}"}
    assert (await api.client.post("/api/v1/alerts", content=b"{}", headers=as_ingest)
            ).status_code == 202
    assert (await api.client.get("/api/v1/alerts", headers=as_ingest)).status_code == 403
    assert (await api.client.post("/api/v1/alerts", content=b"{}", headers=as_read)
            ).status_code == 403


async def test_list_filter_and_paging(api: AppHarness) -> None:
    """The alert list filters with §4 expressions and pages with a cursor, newest first."""
    await ingest(api, json.dumps(
        [{"Action": "Block" if i % 2 else "Audit", "n": i} for i in range(30)]).encode())
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"filter": "Action = Block", "limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = (await api.client.get("/api/v1/alerts", params=params)).json()
        seen += [item["alert"]["n"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(29, 0, -2))
    bad = await api.client.get("/api/v1/alerts", params={"filter": "Action ="})
    assert bad.status_code == 422
    assert bad.json()["position"] == 8
    assert "value" in bad.json()["expected"]
    assert (await api.client.get("/api/v1/alerts/alr_missing")).status_code == 404


async def test_triggers_crud_and_validation(api: AppHarness, receiver: Any) -> None:
    """Triggers are created, read, listed, edited and deleted; bad fields are 422 by name."""
    hook = (await api.client.post(
        "/api/v1/integrations", json={"name": "r", "url": receiver.url})).json()
    made = await api.client.post("/api/v1/triggers", json={
        "name": "File integrity", "filter": "Tags ~ MITRE_T1565 AND Severity >= 5",
        "channels": [hook["id"]], "threat_level": "medium"})
    assert made.status_code == 201, made.text
    trig = made.json()
    assert trig["frequency"] == "realtime" and trig["enabled"] is True
    assert (await api.client.get(f"/api/v1/triggers/{trig['id']}")).json() == trig
    edited = await api.client.patch(f"/api/v1/triggers/{trig['id']}", json={"enabled": False})
    assert edited.json()["enabled"] is False
    listed = (await api.client.get("/api/v1/triggers")).json()["items"]
    assert [t["name"] for t in listed] == ["File integrity"]
    for bad, field in (
        ({"filter": "Action = Block AND"}, "filter"),
        ({"channels": []}, "channels"),
        ({"channels": ["itg_missing"]}, "channels"),
        ({"threat_level": "severe"}, "threat_level"),
        ({"name": "file INTEGRITY"}, "name"),
        ({"frequency": "hourly"}, "frequency"),
    ):
        body = {"name": "other", "filter": "Action = Block", "channels": [hook["id"]]} | bad
        response = await api.client.post("/api/v1/triggers", json=body)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["field"] == field, bad
    used = await api.client.delete(f"/api/v1/integrations/{hook['id']}")
    assert used.status_code == 409 and "File integrity" in used.json()["message"]
    assert (await api.client.delete(f"/api/v1/triggers/{trig['id']}")).status_code == 204
    assert (await api.client.get(f"/api/v1/triggers/{trig['id']}")).status_code == 404


async def test_filter_syntax_error_names_position(api: AppHarness) -> None:
    """Test Filter with a broken expression: 422 with position and what was expected."""
    response = await api.client.post("/api/v1/triggers/test-filter",
                                     json={"filter": "(Action = Block"})
    assert response.status_code == 422
    assert "position" in response.json()["message"]


async def test_test_filter_counts_and_samples(api: AppHarness) -> None:
    """Test Filter reports matched, total and up to ten newest matching alerts."""
    for path in fixture_files():
        await ingest(api, path.read_bytes())
    await ingest(api, json.dumps([{"Action": "Block", "n": i} for i in range(15)]).encode())
    total = len(fixture_files()) + 15
    result = (await api.client.post("/api/v1/triggers/test-filter",
                                    json={"filter": "Action = Block"})).json()
    blocks_in_fixtures = sum(
        1 for p in fixture_files() if json.loads(p.read_bytes()).get("Action") == "Block")
    assert result["total"] == total
    assert result["matched"] == 15 + blocks_in_fixtures
    assert len(result["sample"]) == 10
    assert result["sample"][0]["alert"] == {"Action": "Block", "n": 14}
    falco = (await api.client.post("/api/v1/triggers/test-filter", json={
        "filter": 'output_fields."fd.name" = /bin/hack'})).json()
    assert falco["matched"] == 1
    high = (await api.client.post("/api/v1/triggers/test-filter", json={
        "filter": "rule ~ binary", "threat_level": "high"})).json()
    assert high["matched"] == 1  # Falco "Error" priority is in the high band


async def test_metrics_count_alerts_and_queue(api_no_workers: AppHarness) -> None:
    """`/metrics` reports alerts received by source and the deliveries waiting."""
    api = api_no_workers
    hook = (await api.client.post("/api/v1/integrations",
                                  json={"name": "m", "url": "http://127.0.0.1:9/"})).json()
    async with api.services.store.engine.begin() as conn:
        await conn.execute(integrations.update().values(status="active"))
    await api.client.post("/api/v1/triggers", json={
        "name": "all", "filter": "Action = Block", "channels": [hook["id"]]})
    await ingest(api, json.dumps([{"Action": "Block"}, {"rule": "r", "priority": "Error",
                                                        "output": "o"}]).encode())
    text = (await api.client.get("/metrics")).text
    assert 'alertwire_alerts_received_total{source="generic"}' in text
    assert 'alertwire_alerts_received_total{source="falco"}' in text
    assert "alertwire_queue_depth 1.0" in text


async def test_silences_api(api: AppHarness) -> None:
    """Silences are created with a duration or an end, listed with their counts, expired
    and deleted; bad input is 422 naming the field."""
    made = await api.client.post("/api/v1/silences", json={
        "comment": "maintenance", "filter": "NamespaceName = staging", "duration": "2h"})
    assert made.status_code == 201, made.text
    silence = made.json()
    await ingest(api, json.dumps([{"NamespaceName": "staging"}, {"NamespaceName": "x"}])
                 .encode())
    listed = (await api.client.get("/api/v1/silences")).json()
    assert [(s["id"], s["matched_count"]) for s in listed] == [(silence["id"], 1)]
    expired = (await api.client.post(f"/api/v1/silences/{silence['id']}/expire")).json()
    assert expired["ends_at"] < silence["ends_at"]
    bad = await api.client.post("/api/v1/silences", json={"filter": "Action =",
                                                           "duration": "1h"})
    assert bad.status_code == 422 and bad.json()["field"] == "filter"
    neither = await api.client.post("/api/v1/silences", json={"comment": "x"})
    assert neither.status_code == 422
    assert (await api.client.delete(f"/api/v1/silences/{silence['id']}")).status_code == 204


async def test_trigger_frequency_throttle_timezone(api: AppHarness, receiver: Any) -> None:
    """Digest frequencies, a time zone and a throttle round-trip through the API."""
    hook = (await api.client.post(
        "/api/v1/integrations", json={"name": "r", "url": receiver.url})).json()
    weekly = (await api.client.post("/api/v1/triggers", json={
        "name": "weekly", "filter": "Action = Block", "channels": [hook["id"]],
        "frequency": "weekly", "timezone": "America/New_York"})).json()
    assert weekly["frequency"] == "weekly" and weekly["timezone"] == "America/New_York"
    assert weekly["digest_sent_until"]
    throttled = (await api.client.post("/api/v1/triggers", json={
        "name": "throttled", "filter": "Action = Block", "channels": [hook["id"]],
        "throttle": {"group_by": ["PolicyName"], "period": "10m"}})).json()
    assert throttled["throttle"] == {"group_by": ["PolicyName"], "period": "10m"}
    bad = await api.client.patch(f"/api/v1/triggers/{throttled['id']}",
                                 json={"throttle": {"group_by": [], "period": "10m"}})
    assert bad.status_code == 422 and bad.json()["field"].startswith("throttle")


async def _post_in_chunks(api: AppHarness, chunks: list[bytes],
                          token: str | None = ADMIN_TOKEN) -> tuple[int, dict[str, Any]]:
    """POST /api/v1/alerts with the body in `chunks`: httpx hands each to the app as an ASGI
    message of its own (`more_body`), as uvicorn does with a large or chunked request."""
    async def pieces() -> Any:
        for chunk in chunks:
            yield chunk

    request = api.client.build_request("POST", "/api/v1/alerts", content=pieces(),
                                       headers={"Content-Type": "application/json"})
    if token is None:
        del request.headers["Authorization"]
    else:
        request.headers["Authorization"] = f"Bearer {token}"
    answer = await api.client.send(request)
    return answer.status_code, answer.json()


async def test_intake_takes_chunked_bodies_and_hands_errors_to_the_route(
    api: AppHarness
) -> None:
    """`AlertIntake` (the short way in) reads a body in pieces; whatever it does not accept
    reaches the `ingest` route whole, which answers with its usual error."""
    alerts = [{"Action": "Block", "n": n} for n in range(3)]
    text = json.dumps(alerts).encode()
    status, answer = await _post_in_chunks(api, [text[:10], text[10:25], text[25:]])
    assert (status, answer["accepted"]) == (202, 3)
    stored = (await api.client.get("/api/v1/alerts")).json()["items"]
    assert sorted(a["alert"]["n"] for a in stored) == [0, 1, 2]
    # A malformed body in pieces: the route saw every piece (the position is past the first).
    status, answer = await _post_in_chunks(api, [b'[{"Action": "Block"},', b' {"Action": ]'])
    assert status == 400 and "line 1 column 34" in answer["message"], answer
    status, answer = await _post_in_chunks(api, [b"{}"], token=None)
    assert (status, answer["error"]) == (401, "unauthorized")
    status, answer = await _post_in_chunks(api, [b"{}"], token="aw_not_a_token")
    assert (status, answer["message"]) == (401, "unknown or revoked token")
    over = [b'{"x": "', b"a" * (6 * 1024 * 1024), b"a" * (6 * 1024 * 1024), b'"}']
    status, answer = await _post_in_chunks(api, over)
    assert status == 413 and "10 MiB" in answer["message"], answer
    assert len((await api.client.get("/api/v1/alerts")).json()["items"]) == 3
