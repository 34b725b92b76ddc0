"""Configuration as code through the API: `GET /api/v1/config` exports every integration and
trigger with secrets as references; `POST /api/v1/config/apply` makes the server match a
document, idempotently, with a dry run and pruning."""

from __future__ import annotations

from typing import Any

from standardwebhooks.webhooks import Webhook

from alertwire.domain.references import resolve
from tests.conftest import AppHarness, raw_dump
from tests.integration.test_delivery import FIM, active_integration, post_alerts, trigger
from tests.receiver import Receiver, eventually

KEY = "R0uTiNgKeY0123456789abcdefABCDEF"
SIGNING = "whsec_" + "c2lnbmluZy1zZWNyZXQtZm9yLWNvbmZpZy10ZXN0cw=="


async def apply(api: AppHarness, document: dict[str, Any], **flags: bool) -> dict[str, Any]:
    answer = await api.client.post("/api/v1/config/apply", json={"config": document} | flags)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def exported(api: AppHarness) -> tuple[dict[str, Any], dict[str, str]]:
    """The exported document, and the environment that resolves its references (the
    secrets, read back through the admin-only secret endpoint and known values)."""
    answer = await api.client.get("/api/v1/config")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    ids = {i["name"]: i["id"] for i in (await api.client.get("/api/v1/integrations")).json()[
        "items"]}
    env = {}
    for ref in body["secrets"]:
        if ref["kind"] == "signing_secret":
            env[ref["variable"]] = (await api.client.get(
                f"/api/v1/integrations/{ids[ref['integration']]}/secret")).json()["secret"]
        else:
            env[ref["variable"]] = {"Authorization": "Bearer s3cr3t-token-value",
                                    "routing_key": KEY}[ref["key"]]
    return body["config"], env


async def test_export_then_apply_changes_nothing(api: AppHarness, receiver: Receiver) -> None:
    """What a server exports, applied back with its secrets in the environment, is no
    change at all (secrets compared exactly, though the API only shows them masked), and the
    export holds no secret in clear."""
    siem = await active_integration(api, receiver.url + "/siem", name="SIEM", headers={
        "Authorization": "Bearer s3cr3t-token-value", "X-Team": "secops"})
    pager = (await api.client.post("/api/v1/integrations", json={
        "name": "pager", "url": receiver.url + "/pd", "template": "pagerduty",
        "template_options": {"routing_key": KEY, "source": "k8s"}})).json()
    await api.client.patch(f"/api/v1/integrations/{siem['id']}", json={"fallback": pager["id"]})
    await trigger(api, [siem["id"], pager["id"]], name="Blocked",
                  throttle={"group_by": ["PodName"], "period": "10m"})
    await trigger(api, [pager["id"]], name="Digest", frequency="daily", timezone="Europe/Berlin")

    document, env = await exported(api)
    text = repr(document)
    assert "s3cr3t" not in text and KEY not in text and "whsec_" not in text
    assert document["integrations"]["SIEM"]["headers"]["Authorization"] == \
        "${ALERTWIRE_SECRET_SIEM_HEADER_AUTHORIZATION}"
    assert document["integrations"]["SIEM"]["fallback"] == "pager"
    assert document["triggers"]["Digest"] == {
        "filter": "Action = Block", "channels": ["pager"], "frequency": "daily",
        "timezone": "Europe/Berlin"}

    result = await apply(api, resolve(document, env))
    assert result["changes"] == [] and result["failures"] == []
    assert sorted(r["name"] for r in result["unchanged"]) == ["Blocked", "Digest", "SIEM",
                                                               "pager"]


async def test_dry_run_then_apply_then_apply_again(api: AppHarness, receiver: Receiver) -> None:
    """A dry run lists every create with its fields and changes nothing; the apply makes
    the objects (active ones tested and connected, signing with the given secret); applying
    again changes nothing."""
    document = {
        "integrations": {
            "hook": {"url": receiver.url + "/hook", "headers": {"Authorization": "Bearer abc123456"},
                     "signing_secret": SIGNING, "status": "active", "fallback": "backup"},
            "backup": {"url": receiver.url + "/backup", "description": "second line"},
        },
        "triggers": {"Blocked": {"filter": "Action = Block", "channels": ["hook"]}},
    }
    dry = await apply(api, document, dry_run=True)
    assert dry["dry_run"] is True
    assert [(c["kind"], c["name"], c["action"]) for c in dry["changes"]] == [
        ("integration", "hook", "create"), ("integration", "backup", "create"),
        ("trigger", "Blocked", "create")]
    hook_fields = {f["field"]: f for f in dry["changes"][0]["fields"]}
    assert hook_fields["headers.Authorization"] == {
        "field": "headers.Authorization", "old": None, "new": "Bearer abc1…****", "secret": True}
    assert hook_fields["status"]["new"] == "active"
    assert hook_fields["fallback"]["new"] == "backup"
    assert (await api.client.get("/api/v1/integrations")).json()["items"] == []

    receiver.requests.clear()
    done = await apply(api, document)
    assert done["failures"] == [] and len(done["changes"]) == 3
    items = {i["name"]: i for i in (await api.client.get("/api/v1/integrations")).json()["items"]}
    assert items["hook"]["status"] == "active" and items["backup"]["status"] == "draft"
    assert items["hook"]["fallback"] == items["backup"]["id"]
    assert [r.path for r in receiver.requests] == ["/hook"]  # the Test Connection
    secret = (await api.client.get(f"/api/v1/integrations/{items['hook']['id']}/secret")).json()
    assert secret == {"secret": SIGNING, "previous_secret": None,
                      "previous_secret_expires_at": None}

    receiver.requests.clear()
    await post_alerts(api, FIM)
    await eventually(lambda: len(receiver.requests) == 1)
    Webhook(SIGNING).verify(receiver.requests[0].body, dict(receiver.requests[0].headers))

    again = await apply(api, document)
    assert again["changes"] == [] and again["failures"] == []
    assert SIGNING.removeprefix("whsec_") not in await raw_dump(api.services.store)


async def test_updates_are_field_level_and_secrets_rotate(
    api: AppHarness, receiver: Receiver
) -> None:
    """Changing a document changes exactly the fields it changed; a new signing secret
    takes over while the old one keeps signing for a day; a changed secret header is
    reported masked and flagged."""
    document: dict[str, Any] = {
        "integrations": {"hook": {"url": receiver.url + "/a", "signing_secret": SIGNING,
                                  "headers": {"Authorization": "Bearer first-token"}}},
        "triggers": {"t": {"filter": "Action = Block", "channels": ["hook"]}},
    }
    await apply(api, document)
    document["integrations"]["hook"] |= {
        "url": receiver.url + "/b", "headers": {"Authorization": "Bearer second-token"},
        "signing_secret": "whsec_" + "bmV3LXNpZ25pbmctc2VjcmV0LWZvci1jb25maWc="}
    document["triggers"]["t"]["enabled"] = False
    result = await apply(api, document)
    (hook, t) = result["changes"]
    assert [(f["field"], f["secret"]) for f in hook["fields"]] == [
        ("url", False), ("headers.Authorization", True), ("signing_secret", True)]
    assert hook["fields"][0]["new"] == receiver.url + "/b"
    assert "second-token" not in repr(result)
    assert t["fields"] == [{"field": "enabled", "old": True, "new": False, "secret": False}]
    iid = (await api.client.get("/api/v1/integrations")).json()["items"][0]["id"]
    secret = (await api.client.get(f"/api/v1/integrations/{iid}/secret")).json()
    assert secret["previous_secret"] == SIGNING
    assert secret["secret"] == document["integrations"]["hook"]["signing_secret"]


async def test_prune_deletes_what_the_document_leaves_out(api: AppHarness) -> None:
    """Without `prune` objects missing from the document are kept and listed; with it they
    are deleted, triggers first."""
    await apply(api, {"integrations": {"a": {"url": "https://a.example.com"},
                                       "b": {"url": "https://b.example.com"}},
                      "triggers": {"uses-b": {"filter": "x = 1", "channels": ["b"]}}})
    only_a = {"integrations": {"a": {"url": "https://a.example.com"}}}
    kept = await apply(api, only_a)
    assert kept["changes"] == []
    assert kept["not_in_file"] == [{"kind": "trigger", "name": "uses-b"},
                                   {"kind": "integration", "name": "b"}]
    pruned = await apply(api, only_a, prune=True)
    assert [(c["kind"], c["name"], c["action"]) for c in pruned["changes"]] == [
        ("trigger", "uses-b", "delete"), ("integration", "b", "delete")]
    names = [i["name"] for i in (await api.client.get("/api/v1/integrations")).json()["items"]]
    assert names == ["a"]
    assert (await api.client.get("/api/v1/triggers")).json()["items"] == []


async def test_failed_test_connection_is_reported(api: AppHarness, receiver: Receiver) -> None:
    """`status: active` for an endpoint that fails its test: the integration is created but
    stays a draft, and the answer says why; `status: disabled` disables."""
    result = await apply(api, {"integrations": {
        "broken": {"url": receiver.url + "/status/500", "status": "active"},
        "off": {"url": receiver.url + "/ok", "status": "disabled"}}})
    assert [f["name"] for f in result["failures"]] == ["broken"]
    assert "Test Connection failed (status 500 is not one of the success codes" in \
        result["failures"][0]["message"]
    items = {i["name"]: i["status"]
             for i in (await api.client.get("/api/v1/integrations")).json()["items"]}
    assert items == {"broken": "draft", "off": "disabled"}


async def test_bad_documents_change_nothing(api: AppHarness) -> None:
    """A 422 names the field and where; nothing of the document is applied, even the parts
    before the mistake. The SSRF guard applies to apply too."""
    bad = await api.client.post("/api/v1/config/apply", json={"config": {
        "integrations": {"ok": {"url": "https://ok.example.com"},
                         "bad": {"url": "https://x.example.com", "success_codes": [999]}}}})
    assert bad.status_code == 422
    assert bad.json()["field"] == "config.integrations.bad.success_codes"
    assert "999" in bad.json()["message"]
    refused = await api.client.post("/api/v1/config/apply", json={"config": {
        "integrations": {"meta": {"url": "http://169.254.169.254/latest"}}}})
    assert refused.status_code == 422
    assert refused.json()["field"] == "config.integrations.meta.url"
    assert "SSRF" in refused.json()["message"]
    version = await api.client.post("/api/v1/config/apply", json={"config": {"version": 2}})
    assert version.status_code == 422 and version.json()["field"] == "config.version"
    assert (await api.client.get("/api/v1/integrations")).json()["items"] == []
    reader = (await api.client.post("/api/v1/tokens",
                                    json={"name": "dash", "scopes": ["read"]})).json()["token"]
    for method, path in (("GET", "/api/v1/config"), ("POST", "/api/v1/config/apply")):
        answer = await api.client.request(method, path, json={"config": {}},
                                          headers={"Authorization": f"Bearer {reader}"})
        assert answer.status_code == 403


async def test_deployment_redaction_rules_round_trip(api: AppHarness) -> None:
    """Export carries the deployment's redaction rules; applying a document with other rules
    replaces them (dry run first changes nothing); applying it again changes nothing."""
    rules = [{"name": "tickets", "pattern": r"ticket-\d+"}]
    await api.client.put("/api/v1/redaction", json={"rules": rules})
    exported = (await api.client.get("/api/v1/config")).json()["config"]
    assert exported["redaction_rules"] == rules
    document = exported | {"redaction_rules": [{"field": "customer"}]}
    dry = (await api.client.post("/api/v1/config/apply",
                                 json={"config": document, "dry_run": True})).json()
    assert [(c["kind"], c["action"]) for c in dry["changes"]] == [("redaction", "update")]
    assert (await api.client.get("/api/v1/redaction")).json()["rules"] == rules
    await api.client.post("/api/v1/config/apply", json={"config": document})
    assert (await api.client.get("/api/v1/redaction")).json()["rules"] == [{"field": "customer"}]
    again = (await api.client.post("/api/v1/config/apply", json={"config": document})).json()
    assert again["changes"] == [] and {"kind": "redaction", "name": "deployment"} in again["unchanged"]
