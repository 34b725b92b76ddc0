"""Alerts in → triggers → deliveries out, through the worker inside the app (SPEC §3–§5)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from alertwire.delivery.worker import INTEGRATION_CACHE_SECONDS
from tests.conftest import FIXTURES, AppHarness, make_settings, start_app
from tests.receiver import Receiver, eventually

FIM = (FIXTURES / "kubearmor/alerts/fim-touch-block-saas.json").read_bytes()


async def active_integration(api: AppHarness, url: str, **changes: Any) -> dict[str, Any]:
    """Create, test and connect an integration, as a user does."""
    created = await api.client.post(
        "/api/v1/integrations", json={"name": changes.pop("name", "hook"), "url": url} | changes
    )
    assert created.status_code == 201, created.text
    iid = created.json()["id"]
    tested = await api.client.post(f"/api/v1/integrations/{iid}/test")
    assert tested.json()["ok"], tested.text
    connected = await api.client.post(f"/api/v1/integrations/{iid}/connect")
    assert connected.status_code == 200, connected.text
    data: dict[str, Any] = connected.json()
    return data


async def trigger(api: AppHarness, channels: list[str], filter: str = "Action = Block",
                  **changes: Any) -> dict[str, Any]:
    response = await api.client.post(
        "/api/v1/triggers",
        json={"name": changes.pop("name", f"t-{time.time_ns()}"), "filter": filter,
              "channels": channels} | changes,
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def failing_with_fallback(api: AppHarness, receiver: Receiver) -> tuple[
        dict[str, Any], dict[str, Any]]:
    """An active integration answering 400 (so its deliveries die at once) whose fallback
    answers 200, and a trigger routing `Action = Block` to it."""
    backup = await active_integration(api, receiver.url + "/backup", name="backup")
    primary = await active_integration(api, receiver.url + "/status/200", name="primary",
                                       fallback=backup["id"])
    await api.client.patch(f"/api/v1/integrations/{primary['id']}",
                           json={"url": receiver.url + "/status/400"})
    await trigger(api, [primary["id"]])
    return primary, backup


async def deliveries(api: AppHarness, **params: str) -> list[dict[str, Any]]:
    response = await api.client.get("/api/v1/deliveries", params={"limit": "500"} | params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def post_alerts(api: AppHarness, body: bytes) -> dict[str, Any]:
    response = await api.client.post("/api/v1/alerts", content=body,
                                     headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_raw_body_headers_and_signature(api: AppHarness, receiver: Receiver) -> None:
    """A matching alert arrives byte for byte, with the integration's headers, the
    User-Agent and Standard Webhooks headers that the official library verifies."""
    hook = await active_integration(api, receiver.url + "/status/200",
                                    headers={"X-Team": "secops", "Authorization": "Bearer t0ken-xyz"})
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    await post_alerts(api, FIM)
    await eventually(lambda: len(receiver.requests) == 1)
    got = receiver.requests[0]
    assert got.body == FIM.strip()
    headers = dict(got.headers)
    assert headers["X-Team"] == "secops"
    assert headers["Authorization"] == "Bearer t0ken-xyz"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("alertwire/")
    secret = (await api.client.get(f"/api/v1/integrations/{hook['id']}/secret")).json()["secret"]
    Webhook(secret).verify(got.body, headers)
    await eventually(lambda: _delivered(api, hook["id"]))
    (delivery,) = await deliveries(api, integration_id=hook["id"], include="attempts")
    assert headers["webhook-id"] == delivery["id"]
    assert delivery["attempt_count"] == 1
    attempt = delivery["attempts"][0]
    assert attempt["status_code"] == 200
    assert attempt["request"]["headers"]["Authorization"] == "Bearer t0ke…****"


async def _delivered(api: AppHarness, integration_id: str, n: int = 1) -> bool:
    items = await deliveries(api, integration_id=integration_id, status="delivered")
    return len(items) >= n


async def test_only_matching_alerts_enabled_triggers_active_integrations(
    api: AppHarness, receiver: Receiver
) -> None:
    """Non-matching alerts, disabled triggers and non-active integrations receive nothing."""
    active = await active_integration(api, receiver.url + "/a", name="active")
    draft = (await api.client.post("/api/v1/integrations",
                                   json={"name": "draft", "url": receiver.url + "/d"})).json()
    await trigger(api, [active["id"], draft["id"]], "Action = Block", name="blocks")
    off = await trigger(api, [active["id"]], "Action = Audit", name="audits")
    await api.client.patch(f"/api/v1/triggers/{off['id']}", json={"enabled": False})
    receiver.requests.clear()
    await post_alerts(api, json.dumps([
        {"Action": "Block", "PolicyName": "p1"},
        {"Action": "Allow", "PolicyName": "p2"},
        {"Action": "Audit", "PolicyName": "p3"},
    ]).encode())
    await eventually(lambda: _delivered(api, active["id"]))
    await asyncio.sleep(0.3)
    assert [r.path for r in receiver.requests] == ["/a"]
    assert json.loads(receiver.requests[0].body)["PolicyName"] == "p1"
    assert await deliveries(api, integration_id=draft["id"]) == []


async def test_get_and_put_methods(api: AppHarness, receiver: Receiver) -> None:
    """GET carries top-level fields in the query string; PUT carries the body."""
    getter = await active_integration(api, receiver.url + "/get", method="GET", name="g")
    putter = await active_integration(api, receiver.url + "/put", method="PUT", name="p")
    await trigger(api, [getter["id"], putter["id"]])
    receiver.requests.clear()
    await post_alerts(api, b'{"Action": "Block", "Owner": {"Name": "mysql"}, "PID": 7}')
    await eventually(lambda: len(receiver.requests) == 2)
    by_path = {r.path: r for r in receiver.requests}
    assert by_path["/get"].method == "GET"
    assert by_path["/get"].query == {"Action": "Block", "Owner": '{"Name":"mysql"}', "PID": "7"}
    assert by_path["/get"].body == b""
    assert by_path["/put"].method == "PUT"
    assert by_path["/put"].body == b'{"Action": "Block", "Owner": {"Name": "mysql"}, "PID": 7}'


async def test_listed_422_is_delivered(api: AppHarness, receiver: Receiver) -> None:
    """An integration listing 422 among its success codes counts a 422 as delivered."""
    hook = await active_integration(api, receiver.url + "/status/422",
                                    success_codes=[200, 422])
    await trigger(api, [hook["id"]])
    await post_alerts(api, FIM)
    await eventually(lambda: _delivered(api, hook["id"]))


@pytest.fixture
async def fast_retry_api(tmp_path: Path) -> Any:
    """The app with a retry schedule of milliseconds, so a whole schedule runs in a test."""
    settings = make_settings(tmp_path, retry_schedule=(0.05, 0.05))
    async for harness in start_app(settings):
        yield harness


async def test_retries_then_dead_every_attempt_logged(
    fast_retry_api: AppHarness, receiver: Receiver
) -> None:
    """A 500 is retried along the schedule, then the delivery is dead; every attempt is kept."""
    api = fast_retry_api
    hook = await active_integration(api, receiver.url + "/status/200")
    await api.client.patch(f"/api/v1/integrations/{hook['id']}",
                           json={"url": receiver.url + "/status/503"})
    await trigger(api, [hook["id"]])
    await post_alerts(api, FIM)

    async def dead() -> bool:
        return len(await deliveries(api, status="dead")) == 1

    await eventually(dead)
    (delivery,) = await deliveries(api, include="attempts")
    assert delivery["attempt_count"] == 3
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 503]
    assert delivery["last_status_code"] == 503
    assert "not a success code" in delivery["last_error"]


async def test_permanent_status_is_dead_at_once(
    fast_retry_api: AppHarness, receiver: Receiver
) -> None:
    """A 400 is not retried."""
    api = fast_retry_api
    hook = await active_integration(api, receiver.url + "/status/200")
    await api.client.patch(f"/api/v1/integrations/{hook['id']}",
                           json={"url": receiver.url + "/status/400"})
    await trigger(api, [hook["id"]])
    await post_alerts(api, FIM)

    async def dead() -> bool:
        return len(await deliveries(api, status="dead")) == 1

    await eventually(dead)
    await asyncio.sleep(0.3)
    assert (await deliveries(api))[0]["attempt_count"] == 1


async def test_retry_after_is_honoured(api: AppHarness, receiver: Receiver) -> None:
    """A 429 with Retry-After: 120 waits 120 s (within the cap of the next-but-one step)."""
    hook = await active_integration(api, receiver.url + "/status/200")
    await api.client.patch(f"/api/v1/integrations/{hook['id']}",
                           json={"url": receiver.url + "/status/429?retry_after=120"})
    await trigger(api, [hook["id"]])
    before = time.time()
    await post_alerts(api, FIM)

    async def failed() -> bool:
        return len(await deliveries(api, status="failed")) == 1

    await eventually(failed)
    (delivery,) = await deliveries(api)
    from datetime import datetime

    next_at = datetime.fromisoformat(delivery["next_attempt_at"].replace("Z", "+00:00"))
    assert 115 <= next_at.timestamp() - before <= 125


async def test_gone_disables_the_integration(api: AppHarness, receiver: Receiver) -> None:
    """410 Gone: the delivery is dead and the integration disabled, with the reason."""
    hook = await active_integration(api, receiver.url + "/status/200")
    await api.client.patch(f"/api/v1/integrations/{hook['id']}",
                           json={"url": receiver.url + "/status/410"})
    await trigger(api, [hook["id"]])
    await post_alerts(api, FIM)

    async def disabled() -> bool:
        got = (await api.client.get(f"/api/v1/integrations/{hook['id']}")).json()
        return bool(got["status"] == "disabled")

    await eventually(disabled)
    got = (await api.client.get(f"/api/v1/integrations/{hook['id']}")).json()
    assert "410" in got["disabled_reason"]
    assert (await deliveries(api))[0]["status"] == "dead"


async def test_signatures_verify_across_rotation(api: AppHarness, receiver: Receiver) -> None:
    """After a rotation, receivers holding the old or the new secret both verify."""
    hook = await active_integration(api, receiver.url + "/status/200")
    await trigger(api, [hook["id"]])
    old = (await api.client.get(f"/api/v1/integrations/{hook['id']}/secret")).json()["secret"]
    new = (await api.client.post(
        f"/api/v1/integrations/{hook['id']}/secret/rotate")).json()["secret"]
    receiver.requests.clear()
    await post_alerts(api, FIM)
    await eventually(lambda: len(receiver.requests) == 1)
    got = receiver.requests[0]
    for secret in (old, new):
        Webhook(secret).verify(got.body, dict(got.headers))


async def test_replay_resends_with_the_same_webhook_id(
    api: AppHarness, receiver: Receiver
) -> None:
    """POST /deliveries/{id}/retry sends a delivered one again, same webhook-id; a queued one
    is a conflict."""
    hook = await active_integration(api, receiver.url + "/status/200")
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    await post_alerts(api, FIM)
    await eventually(lambda: _delivered(api, hook["id"]))
    (delivery,) = await deliveries(api)
    replay = await api.client.post(f"/api/v1/deliveries/{delivery['id']}/retry")
    assert replay.status_code == 200
    await eventually(lambda: len(receiver.requests) == 2)
    ids = [dict(r.headers)["webhook-id"] for r in receiver.requests]
    assert ids == [delivery["id"], delivery["id"]]
    assert receiver.requests[0].body == receiver.requests[1].body

    async def two_attempts() -> bool:
        got = (await api.client.get(f"/api/v1/deliveries/{delivery['id']}")).json()
        return got["status"] == "delivered" and len(got["attempts"]) == 2

    await eventually(two_attempts)
    missing = await api.client.post("/api/v1/deliveries/dlv_nope/retry")
    assert missing.status_code == 404


async def test_slow_endpoint_does_not_delay_others(api: AppHarness, receiver: Receiver) -> None:
    """While one integration answers after 5 s, deliveries to a fast one go straight through."""
    slow = await active_integration(api, receiver.url + "/status/200", name="slow")
    await api.client.patch(f"/api/v1/integrations/{slow['id']}",
                           json={"url": receiver.url + "/delay/5"})
    fast = await active_integration(api, receiver.url + "/status/200", name="fast")
    await trigger(api, [slow["id"], fast["id"]])
    batch = json.dumps([{"Action": "Block", "n": i} for i in range(40)]).encode()
    started = time.monotonic()
    await post_alerts(api, batch)
    await eventually(lambda: _delivered(api, fast["id"], 40), timeout=4)
    assert time.monotonic() - started < 3


async def test_fallback_receives_dead_deliveries(
    fast_retry_api: AppHarness, receiver: Receiver
) -> None:
    """A dead delivery is re-sent once to the integration's fallback, marked as such; the
    log links the two both ways; the fallback's own death goes nowhere else."""
    api = fast_retry_api
    primary, backup = await failing_with_fallback(api, receiver)
    receiver.requests.clear()
    await post_alerts(api, FIM)
    await eventually(lambda: _delivered(api, backup["id"]))
    (rescued,) = await deliveries(api, integration_id=backup["id"])
    (dead,) = await deliveries(api, integration_id=primary["id"])
    assert rescued["is_fallback"] is True
    assert dead["status"] == "dead" and dead["fallback_delivery_id"] == rescued["id"]
    assert rescued["fallback_of"] == dead["id"] and dead["fallback_of"] is None
    assert [r.path for r in receiver.requests] == ["/status/400", "/backup"]
    assert receiver.requests[1].body == FIM.strip()
    # A fallback that dies too is not re-sent anywhere (the backup's own fallback included).
    last = await active_integration(api, receiver.url + "/last", name="last")
    changed = await api.client.patch(f"/api/v1/integrations/{backup['id']}",
                                     json={"url": receiver.url + "/status/400",
                                           "fallback": last["id"]})
    assert changed.status_code == 200, changed.text
    await asyncio.sleep(INTEGRATION_CACHE_SECONDS + 0.1)  # the worker reads the change
    receiver.requests.clear()
    await post_alerts(api, FIM)

    async def fallback_died() -> bool:
        return any(d["status"] == "dead" and d["is_fallback"]
                   for d in await deliveries(api, integration_id=backup["id"]))

    await eventually(fallback_died)
    await asyncio.sleep(0.3)
    assert [r.path for r in receiver.requests] == ["/status/400", "/status/400"]
    assert await deliveries(api, integration_id=last["id"]) == []


async def test_every_attempt_recorded_once(api: AppHarness, receiver: Receiver) -> None:
    """300 deliveries sent concurrently: each is recorded as delivered after exactly one
    attempt, and the receiver sees each once (no outcome lost between send and record)."""
    hook = await active_integration(api, receiver.url + "/status/200")
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    await post_alerts(api, json.dumps([{"Action": "Block", "n": i} for i in range(300)]).encode())
    await eventually(lambda: _delivered(api, hook["id"], 300), timeout=20)
    items = await deliveries(api, integration_id=hook["id"])
    assert len(items) == 300
    assert {d["attempt_count"] for d in items} == {1}
    assert sorted(json.loads(r.body)["n"] for r in receiver.requests) == list(range(300))


async def test_commit_wakes_the_worker(api: AppHarness, receiver: Receiver) -> None:
    """Delivery starts as soon as the ingest commits, not at the next poll (1 s): ten
    alerts posted one by one each arrive well within the poll interval."""
    hook = await active_integration(api, receiver.url + "/status/200")
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    await asyncio.sleep(1.2)  # the worker is idle, waiting for its next poll
    latencies = []
    for i in range(10):
        started = time.monotonic()
        await post_alerts(api, json.dumps({"Action": "Block", "n": i}).encode())
        await eventually(lambda n=i + 1: len(receiver.requests) == n, timeout=5)
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(0.13)
    assert max(latencies) < 0.5, latencies


async def test_capped_integration_drains_without_polling(
    api: AppHarness, receiver: Receiver
) -> None:
    """An integration with max_concurrency 1 gets its deliveries one after another, each
    started as soon as the previous one is recorded, not at the next poll (1 s): twelve
    alerts in one request arrive in well under the time twelve polls would take."""
    hook = await active_integration(api, receiver.url + "/status/200", max_concurrency=1)
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    started = time.monotonic()
    await post_alerts(api, json.dumps([{"Action": "Block", "n": i} for i in range(12)]).encode())
    await eventually(lambda: len(receiver.requests) == 12, timeout=20)
    elapsed = time.monotonic() - started
    # Waiting for polls would take at least 11 s; each hand-over takes milliseconds.
    assert elapsed < 3, f"12 capped deliveries took {elapsed:.1f} s"


async def test_handed_over_deliveries_keep_the_concurrency_cap(
    api: AppHarness, receiver: Receiver
) -> None:
    """New deliveries handed to the worker inside the ingest transaction count against the
    integration's cap like claimed ones: many one-alert requests at once to an endpoint
    capped at 2 never see a third request in flight, and every alert arrives once."""
    hook = await active_integration(api, receiver.url + "/delay/0.1", max_concurrency=2)
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    receiver.max_in_flight = 0
    await asyncio.gather(*(post_alerts(api, json.dumps({"Action": "Block", "n": i}).encode())
                           for i in range(16)))
    await eventually(lambda: len(receiver.requests) == 16, timeout=20)
    await asyncio.sleep(0.3)
    assert receiver.max_in_flight == 2
    assert sorted(json.loads(r.body)["n"] for r in receiver.requests) == list(range(16))


async def test_worker_detached_mid_ingest_keeps_the_handed_deliveries(
    api: AppHarness, receiver: Receiver, monkeypatch: Any
) -> None:
    """Shutting down detaches the worker from ingest while a transaction may be open: that
    transaction still hands its deliveries to the worker that reserved them, answers 202,
    and the alert is delivered."""
    hook = await active_integration(api, receiver.url + "/status/200")
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    alerts = api.services.store.alerts
    hand_off = alerts._hand_off

    async def then_detach(*args: Any) -> Any:
        handed = await hand_off(*args)
        alerts.lessee = None  # as stop_services does
        return handed

    monkeypatch.setattr(alerts, "_hand_off", then_detach)
    await post_alerts(api, json.dumps({"Action": "Block"}).encode())
    await eventually(lambda: len(receiver.requests) == 1, timeout=5)


async def test_storm_reaches_a_throttled_trigger_as_a_handful(
    api: AppHarness, receiver: Receiver
) -> None:
    """50,000 alerts of one policy arrive within a minute; a trigger throttled per policy and
    host sends a handful of deliveries whose counts add up to exactly 50,000."""
    hook = await active_integration(api, receiver.url + "/status/200")
    await trigger(api, [hook["id"]], throttle={"group_by": ["PolicyName", "HostName"],
                                               "period": "2s"})
    receiver.requests.clear()
    started = time.monotonic()
    alert = {"Action": "Block", "PolicyName": "crashloop-policy", "HostName": "node-7"}
    for _ in range(50):
        await post_alerts(api, json.dumps([alert] * 1000).encode())
    assert time.monotonic() - started < 60

    def counted() -> int:
        return sum(int(dict(r.headers).get("alertwire-alert-count", "1"))
                   for r in receiver.requests)

    await eventually(lambda: counted() == 50_000, timeout=30)
    assert len(receiver.requests) <= 2 + (time.monotonic() - started) / 2 + 2
    kinds = [dict(r.headers).get("alertwire-kind", "alert") for r in receiver.requests]
    assert kinds[0] == "alert" and set(kinds[1:]) == {"throttled"}


@pytest.fixture
async def breaker_api(tmp_path: Path) -> Any:
    """Short retries, a 1 s circuit cool-down, and auto-disable after 3 s of failure."""
    settings = make_settings(tmp_path, retry_schedule=(0.05,) * 40, circuit_cooldown=1.0,
                             auto_disable_after=3.0)
    async for harness in start_app(settings):
        yield harness


async def test_circuit_breaker_pauses_then_probes(
    breaker_api: AppHarness, receiver: Receiver
) -> None:
    """After five 5xx in a row the endpoint rests for the cool-down (no request reaches it),
    then a single probe goes; when the endpoint recovers, everything resumes."""
    api = breaker_api
    hook = await active_integration(api, receiver.url + "/status/200")
    await api.client.patch(f"/api/v1/integrations/{hook['id']}",
                           json={"url": receiver.url + "/status/503"})
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    await post_alerts(api, json.dumps([{"Action": "Block", "n": i} for i in range(3)]).encode())
    await eventually(lambda: len(receiver.requests) >= 5, timeout=5)

    async def circuit_open() -> bool:
        got = (await api.client.get(f"/api/v1/integrations/{hook['id']}")).json()
        return got["circuit_open_until"] is not None

    await eventually(circuit_open, timeout=5)
    seen = len(receiver.requests)
    await asyncio.sleep(0.6)
    assert len(receiver.requests) - seen <= 2  # resting (allow the in-flight ones to land)
    await api.client.patch(f"/api/v1/integrations/{hook['id']}",
                           json={"url": receiver.url + "/status/200"})
    await eventually(lambda: _delivered(api, hook["id"], 3), timeout=10)
    got = (await api.client.get(f"/api/v1/integrations/{hook['id']}")).json()
    assert got["circuit_open_until"] is None and got["status"] == "active"


async def test_auto_disable_after_continuous_failure(
    breaker_api: AppHarness, receiver: Receiver
) -> None:
    """An integration failing without a break for longer than the setting (3 s here) is
    disabled automatically, with the reason shown."""
    api = breaker_api
    hook = await active_integration(api, receiver.url + "/status/200")
    await api.client.patch(f"/api/v1/integrations/{hook['id']}",
                           json={"url": receiver.url + "/status/500"})
    await trigger(api, [hook["id"]])
    for i in range(8):
        await post_alerts(api, json.dumps({"Action": "Block", "n": i}).encode())
        await asyncio.sleep(0.6)

    async def disabled() -> bool:
        got = (await api.client.get(f"/api/v1/integrations/{hook['id']}")).json()
        return bool(got["status"] == "disabled")

    await eventually(disabled, timeout=10)
    got = (await api.client.get(f"/api/v1/integrations/{hook['id']}")).json()
    assert "disabled automatically" in got["disabled_reason"]


async def test_retry_dead_walks_each_dead_delivery_once(api: AppHarness, receiver: Receiver) -> None:
    """POST /deliveries/retry-dead queues one integration's dead deliveries again, `limit` at
    a time, oldest first, following `next_cursor`; one that dies again during the walk is not
    picked twice, and another integration's dead deliveries are left alone."""
    hook = await active_integration(api, receiver.url + "/status/200", name="primary")
    other = await active_integration(api, receiver.url + "/status/200", name="other")
    for iid in (hook["id"], other["id"]):
        await api.client.patch(f"/api/v1/integrations/{iid}",
                               json={"url": receiver.url + "/status/400"})
    await trigger(api, [hook["id"], other["id"]], filter="n >= 0")
    await post_alerts(api, json.dumps([{"n": i} for i in range(7)]).encode())

    async def dead(integration_id: str, n: int) -> bool:
        return len(await deliveries(api, status="dead", integration_id=integration_id)) == n

    await eventually(lambda: dead(hook["id"], 7))
    await eventually(lambda: dead(other["id"], 7))
    oldest_first = sorted(d["id"] for d in await deliveries(api, integration_id=hook["id"]))

    walked: list[str] = []
    cursor: str | None = None
    remaining_seen: list[int] = []
    while True:
        answer = await api.client.post("/api/v1/deliveries/retry-dead", json={
            "integration_id": hook["id"], "limit": 3, "cursor": cursor})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["retried"] == len(body["ids"])
        walked += body["ids"]
        remaining_seen.append(body["remaining"])
        # Still answering 400: these die again before the next call, and stay behind it.
        await eventually(lambda: dead(hook["id"], 7))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == oldest_first
    assert remaining_seen == [4, 1, 0]
    for delivery in await deliveries(api, integration_id=hook["id"]):
        assert delivery["attempt_count"] == 2
    for delivery in await deliveries(api, integration_id=other["id"]):
        assert delivery["attempt_count"] == 1

    # Once the endpoint is fixed, one more walk over every integration delivers them all.
    for iid in (hook["id"], other["id"]):
        await api.client.patch(f"/api/v1/integrations/{iid}",
                               json={"url": receiver.url + "/status/200"})
    await asyncio.sleep(INTEGRATION_CACHE_SECONDS + 0.1)  # workers see the edit
    everything = (await api.client.post("/api/v1/deliveries/retry-dead",
                                        json={"limit": 1000})).json()
    assert everything["retried"] == 14 and everything["next_cursor"] is None
    await eventually(lambda: _delivered(api, hook["id"], 7))
    await eventually(lambda: _delivered(api, other["id"], 7))
    none_left = (await api.client.post("/api/v1/deliveries/retry-dead", json={})).json()
    assert none_left == {"retried": 0, "ids": [], "remaining": 0, "next_cursor": None}


async def test_retry_dead_refuses_bad_requests(api: AppHarness) -> None:
    """An unknown integration is a 404 naming it; a limit out of range or a foreign cursor
    is a 422 naming the field; a read-only token may not retry."""
    missing = await api.client.post("/api/v1/deliveries/retry-dead",
                                    json={"integration_id": "itg_nope"})
    assert missing.status_code == 404
    assert "itg_nope" in missing.json()["message"]
    too_many = await api.client.post("/api/v1/deliveries/retry-dead", json={"limit": 5000})
    assert too_many.status_code == 422 and too_many.json()["field"] == "limit"
    bad_cursor = await api.client.post("/api/v1/deliveries/retry-dead", json={"cursor": "x"})
    assert bad_cursor.status_code == 422 and bad_cursor.json()["field"] == "cursor"
    reader = (await api.client.post("/api/v1/tokens",
                                    json={"name": "dash", "scopes": ["read"]})).json()["token"]
    refused = await api.client.post("/api/v1/deliveries/retry-dead", json={},
                                    headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403
