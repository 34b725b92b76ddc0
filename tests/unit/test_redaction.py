"""Redaction rules (SPEC §8): the defaults, field paths, expressions, and what they leave."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from pydantic import ValidationError

from alertwire.domain.digests import DigestAlert, build_digest
from alertwire.domain.redaction import (
    DEFAULT_REDACTOR,
    REDACTED,
    RedactionRule,
    Redactor,
    default_rules,
    parse_field_path,
    redact_text,
    use_for_logs,
)
from alertwire.domain.samples import falco_alert_with_secrets
from tests.fixtures import fixture_files


@pytest.mark.parametrize(("text", "expected"), [
    ("psql postgresql://orders:Tr0ub4dor-3@db:5432/x", "psql postgresql://[REDACTED]@db:5432/x"),
    ("git clone https://x-access-token:ghs_abc@github.com/o/r",
     "git clone https://[REDACTED]@github.com/o/r"),
    ("curl -H 'Authorization: Bearer abc123def456ghi' https://api",
     "curl -H 'Authorization: Bearer [REDACTED]' https://api"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [REDACTED]"),
    ("GET /v1/items?limit=5&api_key=5ec4e7&x=1", "GET /v1/items?limit=5&api_key=[REDACTED]&x=1"),
    ("key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED] used"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "aws_secret_access_key = [REDACTED]"),
    ("push with ghp_R2x9mQv7LkT4nB8cW1zYdF6hJ3sP5aE0uKiO", "push with [REDACTED]"),
    ("slack xoxb-1234567890-abcdefghij", "slack [REDACTED]"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
     "jwt [REDACTED]"),
    ("mysql --password=hunter2 -u root", "mysql --password=[REDACTED] -u root"),
    ("mysql --password hunter2 -u root", "mysql --password [REDACTED] -u root"),
    ("env DB_PASSWORD=hunter2 PWD=/root HOME=/root", "env DB_PASSWORD=[REDACTED] PWD=/root HOME=/root"),
    ('{"api_key": "abcd", "user": "bob"}', '{"api_key": "[REDACTED]", "user": "bob"}'),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7w\n-----END RSA PRIVATE KEY----- ok",
     "[REDACTED] ok"),
    ("cut -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "cut [REDACTED]"),
    ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/services/[REDACTED]"),
])
def test_default_rules_mask_credentials(text: str, expected: str) -> None:
    """URL credentials, bearer/basic/API tokens, AWS keys, private-key blocks and
    `name=secret` assignments are masked; what is around them stays readable."""
    assert DEFAULT_REDACTOR.redact_text(text) == expected


@pytest.mark.parametrize("text", [
    "Detected and prevented compromise to File integrity",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "ksp-disk-provisioner-5d8f7c9b6d-abcdefghijklmnop",
    "syscall=SYS_OPENAT fd=-100 flags=O_RDONLY",
    "the token expired",
    "docker.io/library/wordpress:4.8-apache@sha256:6216f64ab88fc51d311e38c7f69ca3f9",
])
def test_default_rules_leave_ordinary_alert_text_alone(text: str) -> None:
    assert DEFAULT_REDACTOR.redact_text(text) == text


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.name)
def test_upstream_samples_leave_byte_for_byte(path: Any) -> None:
    """The upstream samples hold no credentials: a `raw` delivery of them stays exactly the
    bytes received (spacing and key order included)."""
    body = path.read_bytes()
    assert DEFAULT_REDACTOR.redact_json(body) is body
    assert DEFAULT_REDACTOR.findings(json.loads(body))[1] == []


def test_a_secret_hidden_behind_json_escapes_is_still_found() -> None:
    """Escaped characters (\\u0040 for @) do not smuggle a secret past the byte-level check."""
    body = b'{"cmd": "psql postgresql://app:pw\\u0040db/x", "k": "ghp\\u005fR2x9mQv7LkT4nB8cW1zYdF6hJ3s"}'
    assert json.loads(DEFAULT_REDACTOR.redact_json(body)) == {
        "cmd": "psql postgresql://[REDACTED]@db/x", "k": REDACTED}


def test_fields_named_like_secrets_are_masked_whole() -> None:
    """`DB_PASSWORD`, `api_key`, `credentials` hold secrets whatever their values look
    like; objects under such a name go whole; booleans and nulls stay (nothing to hide)."""
    alert = {"env": {"DB_PASSWORD": "hunter2", "HOME": "/root"}, "api_key": 12345,
             "credentials": {"user": "u", "pass": "p"}, "password_set": True, "token": None}
    assert DEFAULT_REDACTOR.redact_value(alert) == ({
        "env": {"DB_PASSWORD": REDACTED, "HOME": "/root"}, "api_key": REDACTED,
        "credentials": REDACTED, "password_set": True, "token": None}, True)


def test_field_paths_quoted_wildcards_and_arrays() -> None:
    """Paths are case-insensitive, quotes hold keys with dots, `*` is one key (or a glob in
    a key), `**` any depth, and arrays are transparent."""
    redactor = Redactor([
        RedactionRule(field='output_fields."proc.cmdline"'),
        RedactionRule(field="owner.name"),
        RedactionRule(field="Labels.*"),
        RedactionRule(field="**.ssn"),
        RedactionRule(field="ATags"),
        RedactionRule(field="hosts.*_ip"),
    ])
    alert = {
        "output_fields": {"proc.cmdline": "run --flag", "proc.name": "run"},
        "Owner": {"Name": "mysql", "Ref": "Deployment"},
        "Labels": {"app": "a", "team": "t"},
        "deep": [{"x": {"SSN": "078-05-1120"}}],
        "ATags": ["NIST", "MITRE"],
        "hosts": [{"private_ip": "10.0.0.1", "name": "db"}],
    }
    assert redactor.redact_value(alert)[0] == {
        "output_fields": {"proc.cmdline": REDACTED, "proc.name": "run"},
        "Owner": {"Name": REDACTED, "Ref": "Deployment"},
        "Labels": {"app": REDACTED, "team": REDACTED},
        "deep": [{"x": {"SSN": REDACTED}}],
        "ATags": REDACTED,
        "hosts": [{"private_ip": REDACTED, "name": "db"}],
    }


def test_patterns_replace_their_match_or_first_group_in_values_and_keys() -> None:
    """A pattern without groups replaces its match; with a group only what the group
    captured; it applies to keys and to numbers it matches, too."""
    redactor = Redactor([RedactionRule(name="cards", pattern=r"\b\d{4}-?\d{4}-?\d{4}-?\d{4}\b"),
                         RedactionRule(pattern=r"employee=(\w+)")])
    alert = {"note": "paid with 4111-1111-1111-1111 by employee=jdoe", "4111111111111111": 1,
             "card": 4111111111111111, "count": 3}
    assert redactor.redact_value(alert)[0] == {
        "note": "paid with [REDACTED] by employee=[REDACTED]", REDACTED: 1, "card": REDACTED,
        "count": 3}


def test_a_field_rule_with_a_pattern_applies_only_inside_the_field() -> None:
    redactor = Redactor([RedactionRule(field="Source", pattern=r"--user[= ](\S+)")])
    alert = {"Source": "app --user=alice --v", "Data": "app --user=alice"}
    assert redactor.redact_value(alert)[0] == {"Source": "app --user=[REDACTED] --v",
                                               "Data": "app --user=alice"}


def test_two_keys_redacted_alike_keep_both_values() -> None:
    redactor = Redactor([RedactionRule(pattern="ticket-[a-z]+")])
    out, _ = redactor.redact_value({"ticket-one": 1, "ticket-two": 2})
    assert sorted(out.values()) == [1, 2]


def test_digest_field_paths_apply_to_each_alert() -> None:
    """A digest is summary plus alerts: a field path reaches each alert's field, and the
    default rules still apply everywhere."""
    alerts = [DigestAlert(f"alr_{i}", 1_700_000_000 + i, "falco", falco_alert_with_secrets())
              for i in range(3)]
    digest = build_digest("db clients", "daily", "UTC", 1_699_990_000, 1_700_086_400, alerts)
    redactor = Redactor([RedactionRule(field='output_fields."user.name"')])
    out, findings = redactor.findings(digest)
    text = json.dumps(out)
    assert "Tr0ub4dor-3" not in text and "AKIAZ7EXAMPLE4RQ2XPL" not in text
    assert [a["alert"]["output_fields"]["user.name"] for a in out["alerts"]] == [REDACTED] * 3
    assert out["counts"] == digest["counts"] and out["total"] == 3
    assert 'alerts[0].alert.output_fields."proc.cmdline"' in {f.path for f in findings}


def test_a_runaway_user_pattern_redacts_the_value_rather_than_hang() -> None:
    """An expression that backtracks forever is cut off; the value goes fully redacted."""
    redactor = Redactor([RedactionRule(name="slow", pattern=r"(a|aa)+$")])
    started = time.monotonic()
    out, findings = redactor.findings({"Msg": "a" * 60 + "b", "Other": "fine"})
    assert time.monotonic() - started < 2
    assert out == {"Msg": REDACTED, "Other": "fine"}
    assert findings[0].rule == "slow (timed out: whole value redacted)"


def test_findings_name_the_path_and_rule() -> None:
    out, findings = DEFAULT_REDACTOR.findings(falco_alert_with_secrets())
    assert {(f.path, f.rule) for f in findings} >= {
        ('output_fields."proc.cmdline"', "url-credentials"),
        ("output", "url-credentials"),
        ('output_fields."proc.env"', "token-shapes"),
        ('output_fields."proc.env"', "secret-assignments"),
    }
    assert out["output_fields"]["proc.env"] == (
        "HOME=/root AWS_ACCESS_KEY_ID=[REDACTED] GITHUB_TOKEN=[REDACTED] PGPASSWORD=[REDACTED]")


@pytest.mark.parametrize(("rule", "message"), [
    ({}, "a rule needs a field, a pattern, or both"),
    ({"pattern": "(unclosed"}, "pattern is not a valid regular expression"),
    ({"field": 'output_fields."proc.cmdline'}, "quote opened at position 14 is not closed"),
    ({"field": "a..b"}, "empty key at position 2"),
    ({"field": "a", "colour": "red"}, "Extra inputs are not permitted"),
])
def test_invalid_rules_say_what_is_wrong(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(".", r"\.")):
        RedactionRule.model_validate(rule)


def test_field_path_syntax() -> None:
    assert parse_field_path('output_fields."proc.cmdline"') == ("output_fields", "proc.cmdline")
    assert parse_field_path("**.Owner.*") == ("**", "Owner", "*")


def test_log_lines_use_the_deployments_expressions_too() -> None:
    """The default rules mask every log line; a deployment's expressions join them (field
    paths mean nothing in free text)."""
    try:
        use_for_logs([RedactionRule(pattern=r"ticket-\d+"), RedactionRule(field="a.b")])
        assert redact_text("see ticket-42 at postgresql://u:p@h/d") == \
            "see [REDACTED] at postgresql://[REDACTED]@h/d"
    finally:
        use_for_logs([])
    assert redact_text("see ticket-42") == "see ticket-42"


def test_every_default_rule_is_described() -> None:
    names = [r["name"] for r in default_rules()]
    assert names == ["url-credentials", "private-key-blocks", "secret-query-parameters",
                     "webhook-url-secrets", "authorization-values", "token-shapes",
                     "secret-assignments", "secret-named-fields"]
    assert all(r["description"] for r in default_rules())
