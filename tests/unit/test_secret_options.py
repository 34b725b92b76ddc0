"""Secret template options: which they are, how they are masked, when a masked value sent
back stands for the stored one, and how a preview body hides them."""

from __future__ import annotations

from alertwire.domain.integrations import (
    hide_secrets,
    mask_template_options,
    unmask_template_options,
)
from alertwire.domain.templates import names, secret_options

KEY = "R0uTiNgKeY0123456789abcdefABCDEF"


def test_only_write_only_options_are_secret() -> None:
    """PagerDuty's routing key is the one secret option; the other templates have none."""
    assert {n: sorted(secret_options(n)) for n in names() if secret_options(n)} == {
        "pagerduty": ["routing_key"]}
    assert secret_options("nosuch") == frozenset()


def test_mask_shows_only_a_prefix_of_secrets() -> None:
    assert mask_template_options("pagerduty", {"routing_key": KEY, "source": "k8s"}) == {
        "routing_key": "R0uT…****", "source": "k8s"}
    assert mask_template_options("jira", {"project_key": "SEC"}) == {"project_key": "SEC"}


def test_unmask_keeps_the_stored_secret_only_for_its_masked_value() -> None:
    """The masked value stands for the stored key; any other value, or another template,
    is taken as sent."""
    stored = {"routing_key": KEY}
    assert unmask_template_options("pagerduty", {"routing_key": "R0uT…****", "source": "x"},
                                   "pagerduty", stored) == {"routing_key": KEY, "source": "x"}
    new = {"routing_key": "0" * 32}
    assert unmask_template_options("pagerduty", new, "pagerduty", stored) == new
    assert unmask_template_options("pagerduty", {}, "pagerduty", stored) == {}
    masked = {"routing_key": "R0uT…****"}
    assert unmask_template_options("pagerduty", masked, "slack", stored) == masked


def test_hide_secrets_reaches_nested_strings() -> None:
    body = {"routing_key": KEY, "payload": {"notes": [f"key {KEY}", 3, None]}}
    assert hide_secrets(body, {KEY: "R0uT…****"}) == {
        "routing_key": "R0uT…****", "payload": {"notes": ["key R0uT…****", 3, None]}}
    assert hide_secrets(body, {}) == body
