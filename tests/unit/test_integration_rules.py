"""Integration fields (SPEC §2): validation, masking, and when Connect is allowed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from alertwire.domain.integrations import (
    IntegrationConfig,
    IntegrationCreate,
    connect_refusal,
    mask_header_value,
    unmask_headers,
    url_refusal,
)
from alertwire.domain.ssrf import parse_allowed_targets


def _error_field(exc: ValidationError) -> str:
    return ".".join(str(p) for p in exc.errors()[0]["loc"])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"method": "DELETE"}, "method"),
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "/relative/path"}, "url"),
        ({"url": "https://example.com/" + "a" * 2048}, "url"),
        ({"success_codes": []}, "success_codes"),
        ({"success_codes": [99]}, "success_codes"),
        ({"success_codes": [600]}, "success_codes"),
        ({"headers": {"X-Bad": "a\r\nInjected: 1"}}, "headers"),
        ({"headers": {"Bad Name": "x"}}, "headers"),
        ({"headers": {"webhook-signature": "forged"}}, "headers"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"description": "d" * 1001}, "description"),
        ({"template": "nonsense"}, "template"),
    ],
)
def test_each_rule_names_its_field(changes: dict[str, object], field: str) -> None:
    """Every §2 rule rejects a bad value and names the field it is about."""
    data: dict[str, object] = {"name": "Slack", "url": "https://hooks.example.com/x"} | changes
    with pytest.raises(ValidationError) as info:
        IntegrationCreate.model_validate(data)
    assert _error_field(info.value) == field


def test_defaults_and_normalisation() -> None:
    """Method is case-insensitive, success codes default to 200/201/202/204, template to raw."""
    spec = IntegrationCreate.model_validate(
        {"name": " Jira ", "method": "put", "url": "https://jira.example.com/rest"}
    )
    assert spec.name == "Jira"
    assert spec.method == "PUT"
    assert spec.success_codes == [200, 201, 202, 204]
    assert spec.template == "raw"


def test_fingerprint_changes_with_delivery_config_only() -> None:
    """A test is tied to the exact configuration: URL or header changes alter the fingerprint."""
    base = IntegrationConfig(url="https://a.example.com/", headers={"X-Key": "1"})
    assert base.fingerprint_source() == IntegrationConfig(
        url="https://a.example.com/", headers={"X-Key": "1"}
    ).fingerprint_source()
    assert base.fingerprint_source() != base.model_copy(
        update={"headers": {"X-Key": "2"}}
    ).fingerprint_source()
    assert base.fingerprint_source() != base.model_copy(
        update={"success_codes": [200, 422]}
    ).fingerprint_source()


def test_masking_secret_headers() -> None:
    """Secret-looking header values are masked like `token ghp_…****`; harmless ones are not."""
    assert mask_header_value("Authorization", "token ghp_abcdefghijklmnop") == "token ghp_…****"
    assert mask_header_value("X-API-Key", "sk-1234567890") == "sk-1…****"
    assert mask_header_value("X-Token", "short") == "****"
    assert mask_header_value("Content-Type", "application/json") == "application/json"


def test_masked_value_sent_back_keeps_the_secret() -> None:
    """Editing a form that shows masked values must not overwrite the stored secret with them."""
    stored = {"Authorization": "Bearer s3cr3t-value-123"}
    shown = {"Authorization": mask_header_value("Authorization", stored["Authorization"])}
    assert unmask_headers(shown, stored) == stored
    assert unmask_headers({"Authorization": "Bearer new"}, stored) == {
        "Authorization": "Bearer new"
    }


def test_literal_private_urls_are_refused_at_validation() -> None:
    """A URL naming a private or metadata address is refused unless allowed by CIDR."""
    assert url_refusal("http://169.254.169.254/latest", ()) is not None
    assert url_refusal("http://2130706433/", ()) is not None
    assert url_refusal("http://127.0.0.1:9/", parse_allowed_targets("127.0.0.0/8")) is None
    assert url_refusal("https://hooks.slack.com/services/x", ()) is None


@dataclass
class _Test:
    ok: bool
    config_fingerprint: str


def test_connect_needs_a_successful_test_of_the_current_config() -> None:
    """Connect waits for a test; a failed test or one of an older configuration is not enough."""
    assert "never been tested" in (connect_refusal(None, "f1") or "")
    assert "changed" in (connect_refusal(_Test(True, "f0"), "f1") or "")
    assert "failed" in (connect_refusal(_Test(False, "f1"), "f1") or "")
    assert connect_refusal(_Test(True, "f1"), "f1") is None
