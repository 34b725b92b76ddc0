"""`/api/v1/redaction`: the deployment's redaction rules and their preview (SPEC §8)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from alertwire.api.deps import Admin, Reader, ServicesDep
from alertwire.domain.redaction import MAX_RULES, RedactionRule, default_rules, redactor_for
from alertwire.domain.samples import falco_alert_with_secrets
from alertwire.errors import Invalid, NotFound

router = APIRouter(prefix="/api/v1/redaction", tags=["redaction"])

Rules = Annotated[list[RedactionRule], Field(max_length=MAX_RULES)]


class DefaultRuleOut(BaseModel):
    name: str
    description: str


class RedactionOut(BaseModel):
    rules: list[RedactionRule]  # the deployment's, applied to every integration
    defaults: list[DefaultRuleOut]  # always applied, before the deployment's


class RedactionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: Rules


class RedactionPreviewIn(BaseModel):
    """What `rules` (default: the saved ones) and an integration's own rules would make of
    `alert` (default: a Falco event holding credentials)."""

    model_config = ConfigDict(extra="forbid")

    rules: Rules | None = None
    integration_id: str | None = None
    alert: Any = None


class FindingOut(BaseModel):
    path: str  # where, from the alert's root: `output_fields."proc.cmdline"`
    rule: str  # which rule (a default's name, or the rule's name, field or pattern)


class RedactionPreviewOut(BaseModel):
    alert: Any  # the alert as it would leave
    redactions: list[FindingOut]


def _out(rules: tuple[RedactionRule, ...]) -> RedactionOut:
    return RedactionOut(rules=list(rules),
                        defaults=[DefaultRuleOut(**d) for d in default_rules()])


@router.get("", response_model=RedactionOut, response_model_exclude_none=True)
async def get_redaction(services: ServicesDep, _: Reader) -> RedactionOut:
    """The deployment's rules and the default rules that always apply."""
    return _out(await services.store.redaction.rules())


@router.put("", response_model=RedactionOut, response_model_exclude_none=True)
async def put_redaction(spec: RedactionIn, services: ServicesDep, _: Admin) -> RedactionOut:
    """Replace the deployment's rules. They apply to the next request sent (within 2 s in
    other processes), to deliveries, retries, digests, tests, drills and replays alike."""
    return _out(await services.store.redaction.replace(spec.rules))


@router.post("/preview", response_model=RedactionPreviewOut)
async def preview_redaction(spec: RedactionPreviewIn, services: ServicesDep,
                            _: Reader) -> RedactionPreviewOut:
    """Nothing is sent or saved: the alert as it would leave, and each redaction made."""
    rules = await services.store.redaction.rules() if spec.rules is None else tuple(spec.rules)
    if spec.integration_id is not None:
        try:
            integration = await services.store.integrations.get(spec.integration_id)
        except NotFound as exc:  # a reference in the body: invalid input, not a missing page
            raise Invalid(f"integration_id: {exc}", field="integration_id") from None
        rules = (*rules, *integration.redaction_rules)
    alert = falco_alert_with_secrets() if spec.alert is None else spec.alert
    redacted, findings = redactor_for(rules).findings(alert)
    return RedactionPreviewOut(alert=redacted, redactions=[
        FindingOut(path=f.path, rule=f.rule) for f in findings])
