"""Configuration as code, the pure part: what `export` writes (secrets as references named
by a fixed scheme, defaults left out) and what `plan` says must change."""

from __future__ import annotations

from typing import Any

import pytest

from alertwire.domain.configuration import ConfigDocument, Existing, FieldChange, export, plan
from alertwire.domain.redaction import RedactionRule
from alertwire.domain.references import resolve
from alertwire.errors import Invalid

ROUTING_KEY = "R0uTiNgKeY0123456789abcdefABCDEF"
SECRET = "whsec_" + "A" * 32


def integration(name: str, id: str = "", status: str = "active", secret: str = SECRET,
                **fields: Any) -> Existing:
    base: dict[str, Any] = {
        "name": name, "method": "POST", "url": f"https://{name.lower().replace(' ', '-')}.example.com/hook",
        "success_codes": [200, 201, 202, 204], "test_payload": None, "description": None,
        "headers": {}, "template": "raw", "template_options": {}, "redaction_rules": [],
        "fallback": None,
        "max_concurrency": 10, "rate_limit": None,
    }
    return Existing(id or f"itg_{name}", name, base | fields, status, secret)


def trigger(name: str, channels: list[str], **fields: Any) -> Existing:
    base: dict[str, Any] = {"name": name, "filter": "Action = Block", "channels": channels,
                            "frequency": "realtime", "threat_level": None, "throttle": None,
                            "timezone": "UTC", "enabled": True}
    return Existing(f"trg_{name}", name, base | fields)


def server() -> tuple[list[Existing], list[Existing]]:
    return (
        [integration("GitHub dispatch", headers={"Authorization": "token ghp_secret",
                                                 "X-Team": "sec"},
                     template="github_dispatch", fallback="pager"),
         integration("pager", template="pagerduty",
                     template_options={"routing_key": ROUTING_KEY, "source": "k8s"}),
         integration("draft-one", status="draft")],
        [trigger("Blocked", ["GitHub dispatch", "pager"],
                 throttle={"group_by": ["PodName"], "period": "10m"})],
    )


def env_for(secrets: list[Any]) -> dict[str, str]:
    values = {"header": "token ghp_secret", "template_option": ROUTING_KEY,
              "signing_secret": SECRET}
    return {s.variable: values[s.kind] for s in secrets}


def test_export_writes_references_never_secrets() -> None:
    """Secret headers, secret template options and signing secrets are written as
    `${ALERTWIRE_SECRET_<INTEGRATION>_…}`; harmless values stay readable; defaults and draft
    status are left out."""
    document, secrets = export(*server())
    gh = document["integrations"]["GitHub dispatch"]
    assert gh["headers"] == {
        "Authorization": "${ALERTWIRE_SECRET_GITHUB_DISPATCH_HEADER_AUTHORIZATION}",
        "X-Team": "sec"}
    assert gh["signing_secret"] == "${ALERTWIRE_SECRET_GITHUB_DISPATCH_SIGNING_SECRET}"
    assert gh["fallback"] == "pager" and gh["status"] == "active"
    assert "method" not in gh and "success_codes" not in gh and "rate_limit" not in gh
    pager = document["integrations"]["pager"]
    assert pager["template_options"] == {
        "routing_key": "${ALERTWIRE_SECRET_PAGER_OPTION_ROUTING_KEY}", "source": "k8s"}
    assert "status" not in document["integrations"]["draft-one"]
    assert document["triggers"]["Blocked"] == {
        "filter": "Action = Block", "channels": ["GitHub dispatch", "pager"],
        "throttle": {"group_by": ["PodName"], "period": "10m"}}
    assert "ghp_secret" not in repr(document) and ROUTING_KEY not in repr(document)
    assert SECRET not in repr(document)
    assert [(s.variable, s.kind, s.key) for s in secrets if s.integration == "pager"] == [
        ("ALERTWIRE_SECRET_PAGER_OPTION_ROUTING_KEY", "template_option", "routing_key"),
        ("ALERTWIRE_SECRET_PAGER_SIGNING_SECRET", "signing_secret", None)]


def test_signing_secrets_may_be_left_unmanaged() -> None:
    """Without signing secrets the document leaves them out, and applying it keeps the
    server's own (no change)."""
    integrations, triggers = server()
    document, secrets = export(integrations, triggers, signing_secrets=False)
    assert all("signing_secret" not in e for e in document["integrations"].values())
    assert {s.kind for s in secrets} == {"header", "template_option"}
    resolved = ConfigDocument.model_validate(resolve(document, env_for(secrets)))
    assert plan(resolved, integrations, triggers, prune=True).changes == []


def test_variable_names_never_collide() -> None:
    """Two names that make the same variable name get distinct ones (`_2`)."""
    _, secrets = export([integration("a-b"), integration("a b")], [])
    assert [s.variable for s in secrets] == ["ALERTWIRE_SECRET_A_B_SIGNING_SECRET",
                                             "ALERTWIRE_SECRET_A_B_2_SIGNING_SECRET"]


def test_exported_document_applies_as_no_change() -> None:
    """Export, resolve the references with the same secrets, plan: nothing to do."""
    integrations, triggers = server()
    document, secrets = export(integrations, triggers)
    resolved = ConfigDocument.model_validate(resolve(document, env_for(secrets)))
    result = plan(resolved, integrations, triggers, prune=True)
    assert result.changes == []
    assert len(result.unchanged) == 4


def test_field_level_changes_mask_secrets() -> None:
    """An update lists only the fields that differ; a changed secret is flagged and shown
    masked on both sides, an unchanged one is not listed."""
    integrations, triggers = server()
    document, secrets = export(integrations, triggers)
    data = resolve(document, env_for(secrets))
    gh = data["integrations"]["GitHub dispatch"]
    gh["headers"]["Authorization"] = "token ghp_rotated"
    gh["url"] = "https://api.github.com/repos/o/r/dispatches"
    data["integrations"]["pager"]["template_options"]["source"] = "prod"
    result = plan(ConfigDocument.model_validate(data), integrations, triggers, prune=False)
    changes = {c.name: c for c in result.changes}
    assert changes["GitHub dispatch"].action == "update"
    assert changes["GitHub dispatch"].fields == [
        FieldChange("url", "https://github-dispatch.example.com/hook",
                    "https://api.github.com/repos/o/r/dispatches"),
        FieldChange("headers.Authorization", "token ghp_…****", "token ghp_…****", secret=True),
    ]
    assert changes["pager"].fields == [FieldChange("template_options.source", "k8s", "prod")]
    assert "ghp_rotated" not in repr(result.changes)


def test_creates_list_fields_and_deletes_need_prune() -> None:
    """A new object lists its non-default fields; objects the document leaves out are
    kept and listed without `prune`, deleted (triggers before integrations) with it."""
    document = ConfigDocument.model_validate({"integrations": {"new": {
        "url": "https://n.example.com", "method": "put", "status": "active",
        "signing_secret": SECRET}}})
    integrations, triggers = server()
    kept = plan(document, integrations, triggers, prune=False)
    (create,) = kept.changes
    assert (create.kind, create.name, create.action) == ("integration", "new", "create")
    assert [(f.field, f.new) for f in create.fields] == [
        ("url", "https://n.example.com"), ("method", "PUT"),
        ("signing_secret", "whse…****"), ("status", "active")]
    assert [(r.kind, r.name) for r in kept.not_in_file] == [
        ("trigger", "Blocked"), ("integration", "GitHub dispatch"), ("integration", "pager"),
        ("integration", "draft-one")]
    pruned = plan(document, integrations, triggers, prune=True)
    assert [(c.kind, c.name, c.action) for c in pruned.deletions] == [
        ("trigger", "Blocked", "delete"), ("integration", "GitHub dispatch", "delete"),
        ("integration", "pager", "delete"), ("integration", "draft-one", "delete")]


@pytest.mark.parametrize(("document", "field", "words"), [
    ({"integrations": {"x": {"url": "ftp://x"}}}, "integrations.x.url", "http"),
    ({"integrations": {"x": {"url": "https://x", "colour": "red"}}}, "integrations.x.colour",
     "Extra inputs"),
    ({"integrations": {"x": {"url": "https://x", "signing_secret": "nope"}}},
     "integrations.x.signing_secret", "whsec_"),
    ({"integrations": {"x": {"url": "https://x",
                             "headers": {"Authorization": "${TOKEN}"}}}},
     "integrations.x.headers.Authorization", "${TOKEN}"),
    ({"integrations": {"x": {"url": "https://x", "fallback": "ghost"}}},
     "integrations.x.fallback", "ghost"),
    ({"integrations": {"x": {"url": "https://x"}, "X": {"url": "https://y"}}},
     "integrations.X", "case-insensitive"),
    ({"triggers": {"t": {"filter": "Action = Block", "channels": ["nobody"]}}},
     "triggers.t.channels", "nobody"),
    ({"triggers": {"t": {"filter": "Action = = Block", "channels": ["pager"]}}},
     "triggers.t.filter", "position"),
    ({"triggers": {"t": "Action = Block"}}, "triggers.t", "mapping"),
])
def test_bad_documents_are_refused_naming_the_field(
    document: dict[str, Any], field: str, words: str
) -> None:
    """Each problem is a 422-kind error located at `<kind>.<name>.<field>`."""
    integrations, triggers = server()
    with pytest.raises(Invalid) as caught:
        plan(ConfigDocument.model_validate(document), integrations, triggers, prune=True)
    assert caught.value.field == field
    assert words in caught.value.message


def test_names_match_case_insensitively() -> None:
    """`PAGER` in a document is the server's `pager`: renaming its case is the only change,
    and channels may name integrations in any case."""
    integrations, triggers = server()
    document, secrets = export(integrations, triggers)
    data = resolve(document, env_for(secrets))
    data["integrations"]["PAGER"] = data["integrations"].pop("pager")
    data["triggers"]["Blocked"]["channels"] = ["github DISPATCH", "PAGER"]
    result = plan(ConfigDocument.model_validate(data), integrations, triggers, prune=True)
    assert [(c.name, c.fields) for c in result.changes] == [
        ("PAGER", [FieldChange("name", "pager", "PAGER")]),
    ]


def test_redaction_rules_are_exported_and_planned() -> None:
    """An integration's own redaction rules are in the document; changing them is a change."""
    rules = [{"name": "tickets", "pattern": r"ticket-(\d+)"}]
    integrations = [integration("siem", redaction_rules=rules)]
    document, secrets = export(integrations, [])
    assert document["integrations"]["siem"]["redaction_rules"] == rules
    resolved = ConfigDocument.model_validate(resolve(document, env_for(secrets)))
    assert plan(resolved, integrations, [], prune=True).changes == []
    document["integrations"]["siem"]["redaction_rules"] = [{"field": "Owner.Name"}]
    changed = plan(ConfigDocument.model_validate(resolve(document, env_for(secrets))),
                   integrations, [], prune=True)
    (change,) = changed.changes
    assert [f.field for f in change.fields] == ["redaction_rules"]


def test_deployment_redaction_rules_export_plan_and_stay_when_left_out() -> None:
    """The deployment's rules are exported; a document with other rules plans one change;
    with the same rules nothing; a document without `redaction_rules` leaves them alone."""
    current = [RedactionRule(name="tickets", pattern=r"ticket-\d+")]
    integrations, triggers = server()
    document, secrets = export(integrations, triggers, redaction_rules=current)
    assert document["redaction_rules"] == [{"name": "tickets", "pattern": r"ticket-\d+"}]
    resolved = ConfigDocument.model_validate(resolve(document, env_for(secrets)))
    assert plan(resolved, integrations, triggers, prune=True, redaction_rules=current).changes == []
    changed = resolved.model_copy(update={"redaction_rules": [RedactionRule(field="customer")]})
    result = plan(changed, integrations, triggers, prune=True, redaction_rules=current)
    (change,) = result.changes
    assert (change.kind, change.name, change.action) == ("redaction", "deployment", "update")
    assert change.fields[0].new == [{"field": "customer"}]
    assert result.redaction_rules == [RedactionRule(field="customer")]
    left_out = resolved.model_copy(update={"redaction_rules": None})
    assert plan(left_out, integrations, triggers, prune=True, redaction_rules=current).changes == []
