"""Destination templates over the API (SPEC §6): `POST /integrations/preview`, the template
list, and 422s naming the option (and the line, for custom templates)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import FIXTURES, AppHarness
from tests.unit.templates.test_limits import CONFIGS, PARTS, assert_accepted, data_100k, text_of

FALCO = json.loads((FIXTURES / "falco/falco-write-below-binary-dir.json").read_bytes())


def compact(value: Any) -> bytes:
    """JSON as templates write it (and as `raw` previews re-encode the alert)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


async def preview(api: AppHarness, **spec: Any) -> Any:
    return await api.client.post("/api/v1/integrations/preview", json=spec)


async def test_preview_renders_the_sample_alert_by_default(api: AppHarness) -> None:
    """Without an alert the sample KubeArmor alert is used; JSON bodies come back as JSON."""
    response = await preview(api, template="slack")
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["content_type"] == "application/json"
    assert "harden-mysql-file-integrity-monitoring" in data["body"]["text"]
    raw = (await preview(api)).json()
    assert raw["body"]["PolicyName"] == "harden-mysql-file-integrity-monitoring"


async def test_preview_of_a_given_alert(api: AppHarness) -> None:
    """A Falco event given in the request is rendered for PagerDuty as it would be sent."""
    response = await preview(api, template="pagerduty", alert=FALCO,
                             template_options={"routing_key": "a" * 32})
    payload = response.json()["body"]["payload"]
    assert payload["severity"] == "error"
    assert "Write below binary dir" in payload["summary"]


async def test_preview_of_a_text_template(api: AppHarness) -> None:
    """A custom template with a text content type previews as text."""
    response = await preview(api, template="custom", alert=FALCO, template_options={
        "template": "{{ policy }} on {{ host }}", "content_type": "text/plain"})
    assert response.json() == {"content_type": "text/plain",
                               "body": "Write below binary dir on localhost"}


async def test_preview_runtime_error_is_422_with_the_line(api: AppHarness) -> None:
    """A custom template failing on the alert answers 422 naming the field and the line."""
    response = await preview(api, template="custom",
                             template_options={"template": "{\n\"x\": {{ 1 // 0 }}\n}"})
    assert response.status_code == 422
    data = response.json()
    assert data["field"] == "template_options.template"
    assert data["line"] == 2
    assert data["message"].startswith("template_options.template: line 2: ZeroDivisionError")


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"template": "fax"}, "template"),
        ({"template": "jira"}, "template_options.project_key"),
        ({"template": "jira", "template_options": {"project_key": "SEC", "api_version": 9}},
         "template_options.api_version"),
        ({"template": "pagerduty", "template_options": {"routing_key": "nope"}},
         "template_options.routing_key"),
        ({"template": "slack", "template_options": {"chanel": "#sec"}},
         "template_options.chanel"),
        ({"template": "github_dispatch", "template_options": {"event_type": "e" * 101}},
         "template_options.event_type"),
    ],
)
async def test_invalid_templates_and_options_are_422_naming_them(
    api: AppHarness, spec: dict[str, Any], field: str
) -> None:
    """Creating an integration and previewing refuse the same way, naming the option."""
    for response in (
        await api.client.post("/api/v1/integrations",
                              json={"name": "x", "url": "https://x.example.com/"} | spec),
        await preview(api, **spec),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field
        assert response.json()["message"].startswith(field)


async def test_custom_syntax_error_is_422_with_the_line(api: AppHarness) -> None:
    """Saving a custom template with a syntax error (or an escape) names its line."""
    for template, line in [('{"a": 1,\n "b": {{ alert.Action }\n}', 2),
                           ("ok\nok\n{{ ''.__class__ }}", 3)]:
        response = await api.client.post("/api/v1/integrations", json={
            "name": "custom", "url": "https://x.example.com/", "template": "custom",
            "template_options": {"template": template}})
        assert response.status_code == 422
        data = response.json()
        assert data["field"] == "template_options.template"
        assert data["line"] == line
        assert data["message"].startswith(f"template_options.template: line {line}: ")


async def test_patch_switching_template_and_saved_options(api: AppHarness) -> None:
    """Options are saved as given; switching the template drops the old template's options
    unless new ones are given; invalid options in a PATCH are a 422 naming them."""
    created = await api.client.post("/api/v1/integrations", json={
        "name": "tickets", "url": "https://x.example.com/", "template": "jira",
        "template_options": {"project_key": "sec", "issue_type": "Bug"}})
    assert created.status_code == 201, created.text
    assert created.json()["template_options"] == {"project_key": "SEC", "issue_type": "Bug"}
    iid = created.json()["id"]
    switched = await api.client.patch(f"/api/v1/integrations/{iid}", json={"template": "slack"})
    assert switched.status_code == 200, switched.text
    assert switched.json()["template"] == "slack" and switched.json()["template_options"] == {}
    bad = await api.client.patch(f"/api/v1/integrations/{iid}", json={
        "template": "custom", "template_options": {"template": "\n{% if %}"}})
    assert bad.status_code == 422
    assert bad.json()["field"] == "template_options.template" and bad.json()["line"] == 2


async def test_template_list_and_read_scope(api: AppHarness) -> None:
    """A read token may list templates (with option schemas) and preview."""
    made = await api.client.post("/api/v1/tokens", json={"name": "r", "scopes": ["read"]})
    as_read = {"Authorization": f"Bearer {made.json()['token']}"}
    listed = await api.client.get("/api/v1/integrations/templates", headers=as_read)
    assert listed.status_code == 200
    by_name = {t["name"]: t for t in listed.json()["items"]}
    assert "routing_key" in by_name["pagerduty"]["options_schema"]["properties"]
    previewed = await api.client.post("/api/v1/integrations/preview", headers=as_read,
                                      json={"template": "teams"})
    assert previewed.status_code == 200
    assert previewed.json()["body"]["attachments"][0]["contentUrl"] is None


@pytest.mark.parametrize(("template", "options"), [
    p for p in CONFIGS if p.id != "custom"])  # custom: its output limit is a 422 here
async def test_preview_of_oversize_alerts_and_digest_parts(
    api: AppHarness, template: str, options: dict[str, Any]
) -> None:
    """The preview shows exactly what would be sent for a 100 KiB Data and for a part of a
    500-alert digest: within the destination's limits, the part named (Splunk's digest is
    several events, so it previews as text)."""
    for alert in (data_100k(), PARTS[4]):
        response = await preview(api, template=template, template_options=options,
                                 alert=alert)
        assert response.status_code == 200, response.text
        body = response.json()["body"]
        sent = body.encode() if isinstance(body, str) else compact(body)
        assert_accepted(template, options, compact(alert), sent)
        if alert is PARTS[4] and template != "raw":
            assert "part 5 of 10" in text_of(sent)
