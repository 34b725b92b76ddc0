"""Response shapes of the JSON API (requests are the domain's own models)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from alertwire.domain.integrations import mask_headers, mask_template_options
from alertwire.domain.redaction import RedactionRule
from alertwire.store import Integration, TestRecord

T = TypeVar("T")


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class TestResult(BaseModel):
    ok: bool
    status_code: int | None
    latency_ms: float | None
    response_headers: dict[str, str]
    response_body: str | None
    error: str | None


class TestResultOut(TestResult):
    tested_at: str | None = None


class LastTest(BaseModel):
    ok: bool
    status_code: int | None
    error: str | None
    tested_at: str | None
    current: bool  # tested the configuration as it is now


class IntegrationOut(BaseModel):
    id: str
    name: str
    method: str
    url: str
    success_codes: list[int]
    test_payload: Any
    description: str | None
    headers: dict[str, str]  # secret values masked
    template: str
    template_options: dict[str, Any]  # secret options masked
    redaction_rules: list[RedactionRule]  # the integration's own, added to the deployment's
    fallback: str | None
    status: str
    disabled_reason: str | None
    max_concurrency: int
    rate_limit: float | None
    circuit_open_until: str | None  # set while the circuit breaker pauses deliveries
    created_at: str | None
    updated_at: str | None
    last_test: LastTest | None

    @classmethod
    def build(
        cls, integration: Integration, last: TestRecord | None, fingerprint: str
    ) -> IntegrationOut:
        return cls(
            id=integration.id, name=integration.name, method=integration.method,
            url=integration.url, success_codes=integration.success_codes,
            test_payload=integration.test_payload, description=integration.description,
            headers=mask_headers(integration.headers), template=integration.template,
            template_options=mask_template_options(integration.template,
                                                   integration.template_options),
            redaction_rules=integration.redaction_rules,
            fallback=integration.fallback_id,
            status=integration.status, disabled_reason=integration.disabled_reason,
            max_concurrency=integration.max_concurrency, rate_limit=integration.rate_limit,
            circuit_open_until=iso(integration.circuit_open_until),
            created_at=iso(integration.created_at), updated_at=iso(integration.updated_at),
            last_test=None if last is None else LastTest(
                ok=last.ok, status_code=last.result.get("status_code"),
                error=last.result.get("error"), tested_at=iso(last.created_at),
                current=last.config_fingerprint == fingerprint,
            ),
        )


class SecretOut(BaseModel):
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: str | None


class PreviewOut(BaseModel):
    content_type: str
    body: Any  # the JSON value for JSON templates, else the text


class TemplateOut(BaseModel):
    name: str
    description: str
    options_schema: dict[str, Any]  # JSON Schema of `template_options`
