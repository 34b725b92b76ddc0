"""Property (issue #12): a secret planted anywhere in an alert never appears in any outbound
request: any template, POST or GET (query string), alert or digest."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertwire.domain.digests import DigestAlert, build_digest
from alertwire.domain.integrations import IntegrationConfig
from alertwire.domain.outbound import OutboundRequest, build_request
from alertwire.domain.redaction import DEFAULT_REDACTOR
from alertwire.domain.templates import names
from tests.fixtures import fixture_files

# (what is planted, the part of it that must never leave)
SECRETS = [
    ("postgresql://orders:Tr0ub4dor-3@db.internal:5432/orders", "Tr0ub4dor-3"),
    ("https://deploy:gl-S3cr3t-77@git.example.com/repo.git", "gl-S3cr3t-77"),
    ("Authorization: Bearer f9e8d7c6b5a4f3e2d1c0", "f9e8d7c6b5a4f3e2d1c0"),
    ("Authorization: Basic ZGVwbG95Omh1bnRlcjI=", "ZGVwbG95Omh1bnRlcjI="),
    ("AKIAZ7EXAMPLE4RQ2XPL", "AKIAZ7EXAMPLE4RQ2XPL"),
    ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7w1xq9Zr\n-----END RSA PRIVATE KEY-----",
     "MIIEpAIBAAKCAQEA7w1xq9Zr"),
    ("ghp_R2x9mQv7LkT4nB8cW1zYdF6hJ3sP5aE0uKiO", "R2x9mQv7LkT4nB8cW1zYdF6hJ3sP5aE0uKiO"),
    ("xoxb-2048-Zq8rT5vW1yB3", "Zq8rT5vW1yB3"),
    ("mysql --password=Hx7-qPz9 -u root", "Hx7-qPz9"),
    ("DB_PASSWORD=Hx7-qPz9", "Hx7-qPz9"),
    ("curl https://api.example.com/v1?access_token=Qm9vbXRva2Vu", "Qm9vbXRva2Vu"),
]
BASES = [json.loads(p.read_bytes()) for p in fixture_files()]
# Every template with the options it needs; the custom one prints the whole alert.
OPTIONS: dict[str, dict[str, Any]] = {
    "jira": {"project_key": "SEC"}, "pagerduty": {"routing_key": "r" * 32},
    "custom": {"template": '{"alert": {{ alert|tojson }}, "text": {{ headline|tojson }}}'},
}
CONFIGS = [IntegrationConfig(url="https://example.com/hook", method=method, template=name,
                             template_options=OPTIONS.get(name, {}))
           for name in names() for method in ("POST", "GET")]

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_GAP = st.sampled_from([" ", "\n", "\t", " (", ") ", ", ", "; ", "|"])


@st.composite
def planted(draw: st.DrawFn) -> tuple[Any, str]:
    """A fixture alert with a secret, inside text, put at a random place: a new or existing
    field at any depth, a list element, or a key."""
    alert = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    secret, core = draw(st.sampled_from(SECRETS))
    text = draw(_TEXT) + draw(_GAP) + secret + draw(_GAP) + draw(_TEXT) \
        if draw(st.booleans()) else secret
    containers: list[Any] = []

    def collect(value: Any) -> None:
        if isinstance(value, dict | list):
            containers.append(value)
            for item in value.values() if isinstance(value, dict) else value:
                collect(item)

    collect(alert)
    target = draw(st.sampled_from(containers))
    how = draw(st.sampled_from(["new", "replace", "key", "nested"]))
    if isinstance(target, list):
        target.insert(draw(st.integers(0, len(target))), text)
    elif how == "replace" and target:
        target[draw(st.sampled_from(sorted(target)))] = text
    elif how == "key":
        target[text] = draw(_TEXT)
    elif how == "nested":
        target[draw(_TEXT)] = {"env": [text]}
    else:
        target[draw(_TEXT)] = text
    return alert, core


def _everything_sent(request: OutboundRequest) -> str:
    parts = [request.url, json.dumps(request.headers, ensure_ascii=False)]
    if request.body is not None:
        parts.append(request.body.decode("utf-8", "replace"))
        try:  # the secret must not leave in an escaped spelling either
            parts.append(json.dumps(json.loads(request.body), ensure_ascii=False))
        except ValueError:
            pass
    if request.params is not None:
        parts += [f"{k}={v}" for k, v in request.params.items()]
    return "\n".join(parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=planted(), as_digest=st.booleans())
def test_a_planted_secret_never_leaves(case: tuple[Any, str], as_digest: bool) -> None:
    alert, core = case
    payload: Any = alert
    if as_digest:
        payload = build_digest("t", "daily", "UTC", 0, 86400,
                               [DigestAlert("alr_1", 1, "falco", alert)]) \
            if isinstance(alert, dict) else alert
    body = json.dumps(payload).encode()
    assert core in body.decode("unicode_escape", "replace") or core in json.dumps(payload)
    for config in CONFIGS:
        request = build_request(config, body, message_id="msg_1", timestamp=1,
                                secrets=["whsec_" + "A" * 32], redactor=DEFAULT_REDACTOR)
        assert core not in _everything_sent(request), (config.template, config.method)
