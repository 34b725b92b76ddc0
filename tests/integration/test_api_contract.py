"""What schemathesis found against a live server (tests/e2e/test_api_fuzz.py), each pinned
here as the bug it was: the API keeps to its OpenAPI document and refuses what it documents
as invalid (SPEC §0, §7, §8)."""

from __future__ import annotations

from typing import Any

from alertwire.store.schema import bins
from tests.conftest import AppHarness


async def test_405_lists_every_method_of_the_path(api: AppHarness) -> None:
    """A method the resource does not take answers 405 with an `Allow` naming exactly the
    methods documented for it (Starlette named only the first route's: `POST` for
    /api/v1/alerts, whose GET is another route)."""
    answer = await api.client.request("OPTIONS", "/api/v1/alerts")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"
    assert answer.json() == {"error": "method_not_allowed",
                             "message": "OPTIONS is not allowed here; allowed: GET, POST"}
    one = await api.client.put("/api/v1/integrations/int_x")
    assert one.headers["allow"] == "GET, PATCH, DELETE"
    # A literal path is its own resource, though the id template would match it too.
    preview = await api.client.request("OPTIONS", "/api/v1/integrations/preview")
    assert preview.headers["allow"] == "POST"


async def test_a_token_cannot_revoke_itself(api: AppHarness) -> None:
    """Revoking the token the request is made with is refused (409), so the API can never lose
    its last admin token (the fuzzer locked itself out that way); other tokens are revoked."""
    listed = (await api.client.get("/api/v1/tokens")).json()
    (own,) = [t for t in listed if "admin" in t["scopes"]]
    refused = await api.client.delete(f"/api/v1/tokens/{own['id']}")
    assert refused.status_code == 409
    assert refused.json()["error"] == "conflict"
    assert "revoke it with another admin token" in refused.json()["message"]
    assert (await api.client.get("/api/v1/tokens")).status_code == 200
    other = (await api.client.post("/api/v1/tokens", json={"name": "spare",
                                                           "scopes": ["admin"]})).json()
    assert (await api.client.delete(f"/api/v1/tokens/{other['id']}")).status_code == 204


async def test_numbers_and_booleans_are_not_coerced(api: AppHarness) -> None:
    """Where the document says number, integer or boolean, a JSON string, boolean or float of
    the wrong kind is a 422 naming the field (pydantic's lax mode had taken `false` as 0)."""
    cases = [
        ("/api/v1/bins", {"response": {"delay": False}}, "response.delay"),
        ("/api/v1/bins", {"response": {"status": "200"}}, "response.status"),
        ("/api/v1/bins", {"max_requests": 5.0}, "max_requests"),
        ("/api/v1/integrations", {"name": "n", "url": "http://127.0.0.1:9/",
                                  "success_codes": ["200"]}, "success_codes.0"),
        ("/api/v1/integrations", {"name": "n", "url": "http://127.0.0.1:9/",
                                  "max_concurrency": True}, "max_concurrency"),
        ("/api/v1/integrations", {"name": "n", "url": "http://127.0.0.1:9/",
                                  "rate_limit": "5"}, "rate_limit"),
        ("/api/v1/triggers", {"name": "t", "filter": "Action = Block", "channels": ["x"],
                              "enabled": "yes"}, "enabled"),
        ("/api/v1/config/apply", {"config": {"version": 1}, "prune": 0}, "prune"),
        ("/api/v1/deliveries/retry-dead", {"limit": "5"}, "limit"),
    ]
    for path, body, field in cases:
        answer = await api.client.post(path, json=body)
        assert answer.status_code == 422, (path, body, answer.text)
        assert answer.json()["field"] == field, answer.json()
    fine = await api.client.post("/api/v1/bins", json={"response": {"delay": 1, "status": 201}})
    assert fine.status_code == 201 and fine.json()["response"]["delay"] == 1.0


async def test_bin_answers_are_valid_http(api: AppHarness) -> None:
    """A bin's status must be a final one (200–599: a 101 broke the connection) and its content
    type a media type (`00` was sent as is); a 204 or 304 bin answers with no body even when
    one is configured (uvicorn crashed: "Response content longer than Content-Length")."""
    for response, field in (({"status": 101}, "response.status"),
                            ({"status": 199}, "response.status"),
                            ({"content_type": "00"}, "response.content_type"),
                            ({"content_type": "text"}, "response.content_type")):
        answer = await api.client.post("/api/v1/bins", json={"response": response})
        assert answer.status_code == 422 and answer.json()["field"] == field, answer.text
    ok = await api.client.post("/api/v1/bins", json={"response": {
        "content_type": "application/json; charset=utf-8", "body": "{}"}})
    assert ok.status_code == 201
    for status in (204, 304):
        made = (await api.client.post("/api/v1/bins", json={"response": {
            "status": status, "body": "configured body"}})).json()
        answer = await api.client.post(f"/hooks/{made['id']}", content=b"x")
        assert answer.status_code == status and answer.content == b""


async def test_bins_stored_before_a_rule_still_read(api: AppHarness) -> None:
    """A bin saved before the stricter rules (status 101 was allowed) still reads and lists:
    stored answers are not validated again."""
    made = (await api.client.post("/api/v1/bins", json={})).json()
    async with api.services.store.engine.begin() as conn:
        await conn.execute(bins.update().where(bins.c.id == made["id"]).values(
            response_status=101, response_content_type="00"))
    read = await api.client.get(f"/api/v1/bins/{made['id']}")
    assert read.status_code == 200 and read.json()["response"]["status"] == 101
    assert (await api.client.get("/api/v1/bins")).status_code == 200


async def test_api_bodies_over_1_mib_are_refused_before_parsing(api: AppHarness) -> None:
    """Every JSON operation but alert ingest (10 MiB) refuses a body over 1 MiB with 413 in
    the error shape, announced or streamed; under the limit the body arrives whole."""
    big = b'{"name": "x", "url": "http://127.0.0.1:9/", "description": "' + b"d" * 1_100_000 + b'"}'
    for path in ("/api/v1/integrations", "/api/v1/drills", "/api/v1/redaction/preview",
                 "/api/v1/config/apply"):
        refused = await api.client.post(path, content=big,
                                        headers={"Content-Type": "application/json"})
        assert refused.status_code == 413, (path, refused.text)
        assert refused.json()["error"] == "too_large"
        assert "the limit is 1048576 bytes (1 MiB)" in refused.json()["message"]

    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 60_000

    streamed = await api.client.post("/api/v1/triggers", content=chunks(),
                                     headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413 and "over the limit" in streamed.json()["message"]

    async def small() -> Any:
        yield b'{"name": "h", '
        yield b'"url": "http://127.0.0.1:9/"}'

    created = await api.client.post("/api/v1/integrations", content=small(),
                                    headers={"Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    alerts = b"[" + b",".join([b'{"Action": "Block", "Data": "' + b"x" * 1000 + b'"}'] * 2000) + b"]"
    assert (await api.client.post("/api/v1/alerts", content=alerts)).status_code == 202
