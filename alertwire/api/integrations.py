"""`/api/v1/integrations`: webhook channels, Test Connection, Connect (SPEC §2)."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError

from alertwire.api.deps import Admin, Reader, Services, ServicesDep
from alertwire.api.openapi import error_responses
from alertwire.api.schemas import (
    IntegrationOut,
    Page,
    PreviewOut,
    SecretOut,
    TemplateOut,
    TestResult,
    TestResultOut,
    iso,
)
from alertwire.delivery.connection_test import run_connection_test
from alertwire.domain.integrations import (
    IntegrationCreate,
    IntegrationPatch,
    TemplatePreview,
    UnsavedTest,
    connect_refusal,
    unmask_headers,
    unmask_template_options,
    url_refusal,
)
from alertwire.domain.samples import kubearmor_file_integrity_alert
from alertwire.domain.signing import generate_secret
from alertwire.domain.templates import TemplateRenderError, describe, preview
from alertwire.errors import Conflict, Invalid
from alertwire.store import Integration, TestRecord

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])


async def _out(services: ServicesDep, integration: Integration) -> IntegrationOut:
    last = await services.store.integrations.latest_test(integration.id)
    fingerprint = services.store.integrations.fingerprint(integration.config())
    return IntegrationOut.build(integration, last, fingerprint)


def check_target(services: Services, url: str) -> None:
    """Refuse (422 on `url`) a literal address the SSRF guard would refuse at send time."""
    if services.own_bins.matches(url):
        return  # this server's own inspector bins are always a permitted target
    reason = url_refusal(url, services.settings.allowed_targets)
    if reason is not None:
        raise Invalid(f"url: refused by the SSRF guard: {reason} (see ALERTWIRE_ALLOWED_TARGETS)",
                      field="url")


@router.post("", status_code=201, response_model=IntegrationOut)
async def create_integration(
    spec: IntegrationCreate, services: ServicesDep, _: Admin
) -> IntegrationOut:
    check_target(services, spec.url)
    return await _out(services, await services.store.integrations.create(spec))


@router.get("", response_model=Page[IntegrationOut])
async def list_integrations(
    services: ServicesDep, _: Reader,
    search: Annotated[str | None, Query(max_length=200)] = None,
    status: Literal["draft", "active", "disabled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Page[IntegrationOut]:
    store = services.store.integrations
    items, next_cursor = await store.page(search=search, status=status, limit=limit,
                                          cursor=cursor)
    tests = await store.latest_tests([i.id for i in items])
    return Page(
        items=[IntegrationOut.build(i, tests.get(i.id), store.fingerprint(i.config()))
               for i in items],
        next_cursor=next_cursor,
    )


@router.post("/test", response_model=TestResult)
async def test_unsaved(config: UnsavedTest, services: ServicesDep, _: Admin) -> TestResult:
    """Test Connection for a configuration not saved yet (signed with a throwaway secret)."""
    result = await run_connection_test(
        services.http, config, secrets=[generate_secret()],
        timeout=services.settings.delivery_timeout,
        redactor=await services.store.redaction.redactor(config.redaction_rules),
    )
    return TestResult(**result)


@router.get("/templates", response_model=Page[TemplateOut])
async def list_templates(_: Reader) -> Page[TemplateOut]:
    """Destination templates (SPEC §6) with the JSON Schema of their `template_options`."""
    return Page(items=[TemplateOut(**t) for t in describe()], next_cursor=None)


@router.post("/preview", response_model=PreviewOut)
async def preview_template(spec: TemplatePreview, services: ServicesDep, _: Reader) -> PreviewOut:
    """Render a template for an alert (the sample KubeArmor alert when none is given) without
    sending anything, after the redaction rules, as a delivery would. A custom template that
    fails on it is a 422 naming the line."""
    redactor = await services.store.redaction.redactor(spec.redaction_rules)
    alert = redactor.redact_value(
        kubearmor_file_integrity_alert() if spec.alert is None else spec.alert)[0]
    try:
        content_type, body = preview(spec.template, spec.template_options, alert)
    except TemplateRenderError as exc:
        field = "template_options.template" if spec.template == "custom" else "template"
        error = Invalid(f"{field}: {exc}", field=field)
        if exc.line is not None:
            error.extra["line"] = exc.line
        raise error from None
    return PreviewOut(content_type=content_type, body=body)


@router.get("/{integration_id}", response_model=IntegrationOut)
async def get_integration(integration_id: str, services: ServicesDep, _: Reader) -> IntegrationOut:
    return await _out(services, await services.store.integrations.get(integration_id))


@router.patch("/{integration_id}", response_model=IntegrationOut)
async def update_integration(
    integration_id: str, patch: IntegrationPatch, services: ServicesDep, _: Admin
) -> IntegrationOut:
    """Change fields; re-test before Connect (a test is valid only for the exact configuration)."""
    current = await services.store.integrations.get(integration_id)
    merged = current.fields()
    changes = patch.model_dump(exclude_unset=True)
    if "headers" in changes and changes["headers"] is not None:
        changes["headers"] = unmask_headers(changes["headers"], current.headers)
    template = changes.get("template") or current.template
    if template != current.template:
        # Another template's options mean nothing to the new one.
        changes.setdefault("template_options", {})
    if changes.get("template_options") is not None:
        changes["template_options"] = unmask_template_options(
            template, changes["template_options"], current.template, current.template_options)
    merged.update(changes)
    try:
        spec = IntegrationCreate.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        error = Invalid(f"{field}: {err['msg'].removeprefix('Value error, ')}", field=field)
        line = (err.get("ctx") or {}).get("line")
        if isinstance(line, int):
            error.extra["line"] = line
        raise error from None
    check_target(services, spec.url)
    return await _out(services, await services.store.integrations.update(integration_id, spec))


@router.delete("/{integration_id}", status_code=204, responses=error_responses(409))
async def delete_integration(
    integration_id: str, services: ServicesDep, _: Admin, force: bool = False
) -> Response:
    """Delete Channel. Refused (409) while a trigger uses it, unless `?force=true`."""
    await services.store.integrations.delete(integration_id, force=force)
    return Response(status_code=204)


@router.post("/{integration_id}/test", response_model=TestResultOut)
async def test_saved(integration_id: str, services: ServicesDep, _: Admin) -> TestResultOut:
    record = await test_and_record(services, await services.store.integrations.get(integration_id))
    return TestResultOut(**record.result, tested_at=iso(record.created_at))


@router.post("/{integration_id}/connect", response_model=IntegrationOut,
             responses=error_responses(409))
async def connect(integration_id: str, services: ServicesDep, _: Admin) -> IntegrationOut:
    """Activate: only once the latest test of the current configuration succeeded."""
    return await _out(services, await connect_integration(services, integration_id))


@router.post("/{integration_id}/disable", response_model=IntegrationOut)
async def disable(integration_id: str, services: ServicesDep, _: Admin) -> IntegrationOut:
    store = services.store.integrations
    return await _out(services, await store.set_status(integration_id, "disabled",
                                                       "disabled by a user"))


@router.get("/{integration_id}/secret", response_model=SecretOut)
async def read_secret(integration_id: str, services: ServicesDep, _: Admin) -> SecretOut:
    return secret_out(await services.store.integrations.get(integration_id))


@router.post("/{integration_id}/secret/rotate", response_model=SecretOut)
async def rotate_secret(integration_id: str, services: ServicesDep, _: Admin) -> SecretOut:
    """A new signing secret; the previous one keeps signing for 24 h alongside it."""
    return secret_out(await services.store.integrations.rotate_secret(integration_id))


def secret_out(integration: Integration) -> SecretOut:
    active_previous = integration.previous_secret and (
        (integration.previous_secret_until or 0) > time.time()
    )
    return SecretOut(
        secret=integration.secret,
        previous_secret=integration.previous_secret if active_previous else None,
        previous_secret_expires_at=iso(integration.previous_secret_until)
        if active_previous else None,
    )


async def test_and_record(services: Services, integration: Integration) -> TestRecord:
    """Test Connection for a saved integration, signed with its own secrets, and recorded:
    the record is what Connect checks."""
    store = services.store.integrations
    config = integration.config()
    result = await run_connection_test(
        services.http, config, secrets=integration.signing_secrets(time.time()),
        timeout=services.settings.delivery_timeout,
        redactor=await services.store.redaction.redactor(config.redaction_rules),
    )
    return await store.record_test(integration.id, store.fingerprint(config), result["ok"],
                                   result)


async def connect_integration(services: Services, integration_id: str) -> Integration:
    """Activate, or Conflict saying why not (never tested, changed since, or failed)."""
    store = services.store.integrations
    integration = await store.get(integration_id)
    refusal = connect_refusal(
        await store.latest_test(integration_id), store.fingerprint(integration.config())
    )
    if refusal is not None:
        raise Conflict(refusal)
    return await store.set_status(integration_id, "active")
