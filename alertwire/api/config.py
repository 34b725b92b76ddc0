"""`/api/v1/config`: configuration as code. Export the integrations, triggers and the
deployment's redaction rules as one document (secrets as `${ENV_VAR}` references), apply a
document (dry run, prune)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from alertwire.api.deps import Admin, Services, ServicesDep
from alertwire.api.integrations import check_target, connect_integration, test_and_record
from alertwire.domain import configuration
from alertwire.domain.configuration import ConfigDocument, Existing, Plan
from alertwire.domain.integrations import JsonBool
from alertwire.errors import Invalid
from alertwire.store import Integration, Store, Trigger
from alertwire.store.paging import every

router = APIRouter(prefix="/api/v1/config", tags=["config"])


class SecretReferenceOut(BaseModel):
    variable: str
    integration: str
    kind: Literal["header", "template_option", "signing_secret"]
    key: str | None


class ExportOut(BaseModel):
    config: dict[str, Any]
    secrets: list[SecretReferenceOut]  # the variables `config` refers to


class ApplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: ConfigDocument  # references already resolved (the CLI does it)
    dry_run: JsonBool = False
    prune: JsonBool = False  # delete integrations and triggers the document leaves out


class FieldChangeOut(BaseModel):
    field: str
    old: Any
    new: Any
    secret: bool  # old and new are masked


class ChangeOut(BaseModel):
    kind: Literal["integration", "trigger", "redaction"]
    name: str
    action: Literal["create", "update", "delete"]
    fields: list[FieldChangeOut]


class RefOut(BaseModel):
    kind: Literal["integration", "trigger", "redaction"]
    name: str


class FailureOut(RefOut):
    message: str


class ApplyOut(BaseModel):
    dry_run: bool
    changes: list[ChangeOut]
    unchanged: list[RefOut]
    not_in_file: list[RefOut]  # kept: not pruning
    failures: list[FailureOut]  # changes made, but this object did not reach its status

    @classmethod
    def build(cls, plan: Plan, dry_run: bool, failures: list[FailureOut]) -> ApplyOut:
        return cls(
            dry_run=dry_run,
            changes=[ChangeOut(kind=c.kind, name=c.name, action=c.action, fields=[
                FieldChangeOut(field=f.field, old=f.old, new=f.new, secret=f.secret)
                for f in c.fields]) for c in plan.changes],
            unchanged=[RefOut(kind=r.kind, name=r.name) for r in plan.unchanged],
            not_in_file=[RefOut(kind=r.kind, name=r.name) for r in plan.not_in_file],
            failures=failures,
        )


@router.get("", response_model=ExportOut)
async def export_config(services: ServicesDep, _: Admin,
                        signing_secrets: bool = True) -> ExportOut:
    """Every integration and trigger, keyed by name, fields at their defaults left out.
    `signing_secrets=false` leaves signing secrets out (apply then keeps each server's own)."""
    document, secrets = configuration.export(
        *await existing(services.store), signing_secrets=signing_secrets,
        redaction_rules=await services.store.redaction.rules())
    return ExportOut(config=document, secrets=[
        SecretReferenceOut(variable=s.variable, integration=s.integration, kind=s.kind, key=s.key)
        for s in secrets])


@router.post("/apply", response_model=ApplyOut)
async def apply_config(body: ApplyRequest, services: ServicesDep, _: Admin) -> ApplyOut:
    """Make the server match the document: the changes, per object and field (secrets
    masked). The whole document is checked before anything changes (422 naming the field);
    `dry_run` changes nothing. Applying the same document again changes nothing."""
    plan, failures = await apply_document(services, body.config, dry_run=body.dry_run,
                                          prune=body.prune)
    return ApplyOut.build(plan, body.dry_run, failures)


async def existing(store: Store) -> tuple[list[Existing], list[Existing]]:
    """The server's integrations and triggers in a document's terms (names for ids)."""
    integrations: list[Integration] = await every(store.integrations.page)
    triggers: list[Trigger] = await every(store.triggers.page)
    names = {i.id: i.name for i in integrations}
    return (
        [Existing(i.id, i.name, i.fields() | {"fallback": names.get(i.fallback_id or "")},
                  i.status, i.secret) for i in integrations],
        [Existing(t.id, t.name, t.fields() | {"channels": [names[c] for c in t.channels]})
         for t in triggers],
    )


async def apply_document(services: Services, document: ConfigDocument, *, dry_run: bool,
                         prune: bool) -> tuple[Plan, list[FailureOut]]:
    integrations, triggers = await existing(services.store)
    try:
        plan = configuration.plan(document, integrations, triggers, prune=prune,
                                  redaction_rules=await services.store.redaction.rules())
    except Invalid as exc:  # located in the request body, as its other errors are
        raise Invalid(f"config.{exc.message}", field=f"config.{exc.field}") from None
    for step in plan.integrations:
        if step.config_changed:
            try:
                check_target(services, step.spec.url)
            except Invalid as exc:
                where = f"config.integrations.{step.spec.name}.url"
                raise Invalid(f"{where}: {exc.message.removeprefix('url: ')}",
                              field=where) from None
    if dry_run:
        return plan, []
    ids = {i.name.lower(): i.id for i in integrations}
    return plan, await _carry_out(services, plan, ids)


async def _carry_out(services: Services, plan: Plan, ids: dict[str, str]) -> list[FailureOut]:
    """Creates first (so every name has an id), then updates, triggers, deletions, and last
    the status changes: `active` is reached by Test Connection and Connect, as in the
    console, so an integration that fails its test is reported and left as it was."""
    store = services.store
    if plan.redaction_rules is not None:
        await store.redaction.replace(plan.redaction_rules)
    creates = [s for s in plan.integrations if s.change.action == "create"]
    updates = [s for s in plan.integrations if s.change.action == "update"]
    late_fallbacks = []
    for step in creates:
        fallback = ids.get(step.fallback.lower()) if step.fallback else None
        created = await store.integrations.create(step.spec.model_copy(update={"fallback": fallback}))
        ids[created.name.lower()] = created.id
        if step.fallback and fallback is None:
            late_fallbacks.append(step)
        if step.signing_secret:
            await store.integrations.set_secret(created.id, step.signing_secret,
                                                keep_previous=False)
    for step in late_fallbacks:
        await store.integrations.update(ids[step.spec.name.lower()], step.spec.model_copy(
            update={"fallback": ids[(step.fallback or "").lower()]}))
    for step in updates:
        integration_id = ids[step.change.name.lower()]
        if step.config_changed:
            fallback = ids[step.fallback.lower()] if step.fallback else None
            await store.integrations.update(
                integration_id, step.spec.model_copy(update={"fallback": fallback}))
        if step.signing_secret:
            await store.integrations.set_secret(integration_id, step.signing_secret,
                                                keep_previous=True)
    for trigger in plan.triggers:
        spec = trigger.spec.model_copy(
            update={"channels": [ids[c.lower()] for c in trigger.spec.channels]})
        if trigger.change.id is None:
            await store.triggers.create(spec)
        else:
            await store.triggers.update(trigger.change.id, spec)
    for change in plan.deletions:
        assert change.id is not None
        if change.kind == "trigger":
            await store.triggers.delete(change.id)
        else:
            await store.integrations.delete(change.id)
    failures: list[FailureOut] = []
    for step in plan.integrations:
        if step.status is not None:
            failure = await _reach_status(services, ids[step.spec.name.lower()], step.status)
            if failure is not None:
                failures.append(FailureOut(kind="integration", name=step.spec.name,
                                           message=failure))
    return failures


async def _reach_status(services: Services, integration_id: str, status: str) -> str | None:
    """Disable, or test and connect; why not, when the test fails."""
    store = services.store.integrations
    if status == "disabled":
        await store.set_status(integration_id, "disabled", "disabled by alertwire config apply")
        return None
    record = await test_and_record(services, await store.get(integration_id))
    if not record.ok:
        got = record.result.get("error") or f"status {record.result.get('status_code')}"
        current = (await store.get(integration_id)).status
        return (f"not connected: Test Connection failed ({got}); it stays {current}: "
                "fix it and apply again")
    await connect_integration(services, integration_id)
    return None
