"""The integration form's template picker over plain HTTP: the live preview route (CSRF,
errors with their line), and template + options saved from the form and used by Test
Connection (SPEC §6)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import AppHarness
from tests.receiver import Receiver


async def test_preview_renders_the_chosen_template(
        console: tuple[httpx.AsyncClient, str]) -> None:
    client, csrf = console
    answer = await client.post("/integrations/preview", data={
        "csrf": csrf, "template": "slack", "template_options": ""})
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["ok"] and shown["content_type"].startswith("application/json")
    assert "harden-mysql-file-integrity-monitoring" in json.dumps(shown["body"])
    raw = (await client.post("/integrations/preview", data={"csrf": csrf})).json()
    assert raw["body"]["PolicyName"] == "harden-mysql-file-integrity-monitoring"


async def test_preview_needs_the_csrf_token(console: tuple[httpx.AsyncClient, str]) -> None:
    client, _ = console
    answer = await client.post("/integrations/preview", data={"template": "slack"})
    assert answer.status_code == 403


@pytest.mark.parametrize(("template", "options", "expected"), [
    ("jira", "", "project_key"),
    ("jira", "{not json", "not valid JSON (line 1"),
    ("jira", "[1, 2]", "must be a JSON object"),
    ("nosuch", "", "template"),
])
async def test_preview_says_what_is_wrong(console: tuple[httpx.AsyncClient, str], template: str,
                                          options: str, expected: str) -> None:
    client, csrf = console
    answer = await client.post("/integrations/preview", data={
        "csrf": csrf, "template": template, "template_options": options})
    assert answer.status_code == 422
    assert expected in answer.json()["error"]


async def test_custom_template_error_names_its_line(
        console: tuple[httpx.AsyncClient, str]) -> None:
    client, csrf = console
    source = '{"policy": "{{ alert.PolicyName }}",\n "x": {{ 1 / 0 }}}'
    answer = await client.post("/integrations/preview", data={
        "csrf": csrf, "template": "custom",
        "template_options": json.dumps({"template": source})})
    assert answer.status_code == 422
    assert answer.json()["line"] == 2


async def test_form_saves_template_and_test_connection_uses_it(
        console: tuple[httpx.AsyncClient, str], api: AppHarness, receiver: Receiver) -> None:
    client, csrf = console
    form = {"csrf": csrf, "name": "jira", "method": "POST",
            "url": receiver.url + "/status/200", "success_codes": "200",
            "test_payload": "", "description": "", "header_name": "", "header_value": "",
            "template": "jira", "template_options": ""}
    refused = await client.post("/integrations/new", data=form)
    assert refused.status_code == 422
    assert "project_key" in refused.text
    form["template_options"] = '{"project_key": "SEC"}'
    saved = await client.post("/integrations/new", data=form)
    assert saved.status_code == 303, saved.text
    found = (await api.client.get("/api/v1/integrations")).json()["items"]
    assert [(i["template"], i["template_options"]) for i in found] == [
        ("jira", {"project_key": "SEC"})]
    page = await client.get(saved.headers["location"])
    assert '<option value="jira" selected>' in page.text
    assert "&#34;project_key&#34;: &#34;SEC&#34;" in page.text or '"project_key": "SEC"' in page.text
    receiver.requests.clear()
    tested = await api.client.post(f"/api/v1/integrations/{found[0]['id']}/test")
    assert tested.json()["ok"]
    sent = json.loads(receiver.requests[-1].body)
    assert sent["fields"]["project"]["key"] == "SEC"
