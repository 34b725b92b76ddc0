"""Configuration as code: integrations and triggers as one document keyed by name.

`export` writes what a server holds, each secret as a `${ENV_VAR}` reference (`references.py`),
leaving out fields at their defaults. `plan` compares a document (its references resolved)
with what a server holds and says, per object and per field, what must change for the
server to match it; the API carries the plan out (`api/config.py`).

A document's rules:
- Integrations are keyed by name, triggers too; a trigger's `channels` and an integration's
  `fallback` name integrations. Names are case-insensitive, as on the server.
- A field left out means its default, so a document says everything about its objects.
  Two fields are managed only when present: `signing_secret` (left out, the server keeps
  its own) and `status` (`active`: tested and connected; `disabled`).
- Objects on the server but not in the document are kept, unless pruning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alertwire.domain import templates
from alertwire.domain.integrations import IntegrationCreate, is_sensitive_header, mask_secret
from alertwire.domain.redaction import MAX_RULES, RedactionRule
from alertwire.domain.references import reference, references
from alertwire.domain.signing import check_secret
from alertwire.domain.triggers import TriggerSpec
from alertwire.errors import Invalid

VERSION = 1
Kind = Literal["integration", "trigger", "redaction"]
Action = Literal["create", "update", "delete"]

# The order fields are written in, and compared in.
INTEGRATION_FIELDS = ("url", "method", "success_codes", "headers", "template",
                      "template_options", "redaction_rules", "description", "test_payload", "fallback",
                      "max_concurrency", "rate_limit")
TRIGGER_FIELDS = ("filter", "channels", "frequency", "threat_level", "throttle", "timezone",
                  "enabled")
SECRET_PREFIX = "ALERTWIRE_SECRET_"


class ConfigDocument(BaseModel):
    """The document as a whole; each entry is checked by `plan`, so that an error is located
    at `integrations.<name>.<field>`."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    integrations: dict[str, Any] | None = None
    triggers: dict[str, Any] | None = None
    # The deployment's redaction rules (SPEC §8); left out, the server's stay as they are.
    redaction_rules: Annotated[list[RedactionRule], Field(max_length=MAX_RULES)] | None = None


class _Managed(BaseModel):
    """The integration fields a document holds beyond `IntegrationCreate`'s."""

    model_config = ConfigDict(extra="forbid")

    fallback: str | None = None  # an integration's name
    signing_secret: str | None = None
    status: Literal["active", "disabled"] | None = None

    @field_validator("signing_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        return None if value is None else check_secret(value)


@dataclass(frozen=True)
class Existing:
    """An integration or trigger on the server, in the document's terms: its fields as a
    document writes them (other objects by name, secrets in clear)."""

    id: str
    name: str
    fields: dict[str, Any]
    status: str | None = None  # integrations only
    signing_secret: str | None = None  # integrations only


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    secret: bool = False  # old and new are masked


@dataclass(frozen=True)
class Change:
    kind: Kind
    name: str
    action: Action
    fields: list[FieldChange]
    id: str | None = None  # the object on the server (update, delete)


@dataclass(frozen=True)
class IntegrationStep:
    """Create or update one integration."""

    change: Change
    spec: IntegrationCreate  # with no fallback: that is `fallback`, a name
    fallback: str | None
    config_changed: bool
    signing_secret: str | None  # to set, when it differs
    status: str | None  # to reach, when it differs


@dataclass(frozen=True)
class TriggerStep:
    change: Change
    spec: TriggerSpec  # `channels` holds integration names


@dataclass(frozen=True)
class Ref:
    kind: Kind
    name: str


@dataclass
class Plan:
    integrations: list[IntegrationStep] = field(default_factory=list)
    triggers: list[TriggerStep] = field(default_factory=list)
    deletions: list[Change] = field(default_factory=list)  # triggers first, then integrations
    unchanged: list[Ref] = field(default_factory=list)
    not_in_file: list[Ref] = field(default_factory=list)  # kept (not pruning)
    redaction: Change | None = None  # the deployment's rules change
    redaction_rules: list[RedactionRule] | None = None  # to set, when `redaction`

    @property
    def changes(self) -> list[Change]:
        return ([s.change for s in self.integrations] + [s.change for s in self.triggers]
                + self.deletions + ([self.redaction] if self.redaction else []))


@dataclass(frozen=True)
class SecretReference:
    """A secret an exported document refers to instead of holding it."""

    variable: str
    integration: str
    kind: Literal["header", "template_option", "signing_secret"]
    key: str | None  # the header or option name


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values (so `1` and `true` differ, key order does not matter)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _defaults(model: type[BaseModel], names: Iterable[str]) -> dict[str, Any]:
    """The default of each optional field (required ones have none)."""
    found = {name: model.model_fields[name] for name in names}
    return {name: f.get_default(call_default_factory=True)
            for name, f in found.items() if not f.is_required()}


INTEGRATION_DEFAULTS = _defaults(IntegrationCreate, INTEGRATION_FIELDS)
TRIGGER_DEFAULTS = _defaults(TriggerSpec, TRIGGER_FIELDS)


def _invalid(where: str, exc: ValidationError) -> Invalid:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    located = f"{where}.{loc}" if loc else where
    return Invalid(f"{located}: {err['msg'].removeprefix('Value error, ')}", field=located)


def _entry(where: str, entry: Any) -> dict[str, Any]:
    if entry is None:
        return {}
    if not isinstance(entry, dict):
        raise Invalid(f"{where}: must be a mapping of fields, not {type(entry).__name__}",
                      field=where)
    if "name" in entry:
        raise Invalid(f"{where}.name: the key is the name; leave this field out",
                      field=f"{where}.name")
    return dict(entry)


def _unresolved(where: str, value: Any) -> None:
    """A secret still written as a reference was meant to be resolved by the client: taking
    it literally would send `${…}` as a credential."""
    if isinstance(value, str) and references(value):
        raise Invalid(
            f"{where}: holds the reference ${{{references(value)[0]}}}, not a value; "
            "`alertwire config apply` puts environment variables in their place", field=where)


def integration_entry(name: str, entry: Any) -> tuple[IntegrationCreate, _Managed]:
    """An integration of a document, checked as the API checks one (fallback left out)."""
    where = f"integrations.{name}"
    data = _entry(where, entry)
    managed = {key: data.pop(key) for key in ("fallback", "signing_secret", "status")
               if key in data}
    _unresolved(f"{where}.signing_secret", managed.get("signing_secret"))
    headers = data.get("headers")
    if isinstance(headers, dict):
        for header, value in headers.items():
            if is_sensitive_header(str(header)):
                _unresolved(f"{where}.headers.{header}", value)
    options = data.get("template_options")
    if isinstance(options, dict):
        for option in templates.secret_options(str(data.get("template", "raw"))):
            _unresolved(f"{where}.template_options.{option}", options.get(option))
    try:
        spec = IntegrationCreate.model_validate(data | {"name": name})
        extra = _Managed.model_validate(managed)
    except ValidationError as exc:
        raise _invalid(where, exc) from None
    return spec, extra


def trigger_entry(name: str, entry: Any) -> TriggerSpec:
    """A trigger of a document (its `channels` are integration names)."""
    where = f"triggers.{name}"
    try:
        return TriggerSpec.model_validate(_entry(where, entry) | {"name": name})
    except ValidationError as exc:
        raise _invalid(where, exc) from None


def _unique(kind: str, names: Iterable[str]) -> None:
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            raise Invalid(f"{kind}: {seen[name.lower()]!r} and {name!r} are the same name "
                          "(names are case-insensitive)", field=f"{kind}.{name}")
        seen[name.lower()] = name


def _secret_paths(fields: Mapping[str, Any]) -> set[str]:
    paths = {f"headers.{h}" for h in fields.get("headers") or {} if is_sensitive_header(h)}
    paths |= {f"template_options.{o}"
              for o in templates.secret_options(fields.get("template") or "raw")}
    return paths


def _flatten(fields: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """Headers and template options compared one by one; other fields whole."""
    flat: dict[str, Any] = {}
    for name in names:
        value = fields.get(name)
        if name in ("headers", "template_options"):
            for key, item in (value or {}).items():
                flat[f"{name}.{key}"] = item
        else:
            flat[name] = value
    return flat


def _diff(old: Mapping[str, Any] | None, new: Mapping[str, Any], names: Iterable[str],
          defaults: Mapping[str, Any]) -> list[FieldChange]:
    """Field-level changes; with no `old` (a create), the fields that differ from defaults."""
    names = list(names)
    before = _flatten(old if old is not None else defaults, names)
    after = _flatten(new, names)
    secret = _secret_paths(new) | (_secret_paths(old) if old is not None else set())
    changes: list[FieldChange] = []
    for path in list(dict.fromkeys([*after, *before])):
        was, now = before.get(path), after.get(path)
        if _same(was, now):
            continue
        if path in secret:
            changes.append(FieldChange(
                path, None if was is None else mask_secret(str(was)),
                None if now is None else mask_secret(str(now)), secret=True))
        else:
            changes.append(FieldChange(path, was, now))
    order = {name: i for i, name in enumerate(names)}
    return sorted(changes, key=lambda c: order[c.field.split(".", 1)[0]])


def _display(lower: str, in_file: Mapping[str, str], on_server: Mapping[str, Existing]) -> str:
    return in_file.get(lower) or on_server[lower].name


def plan(document: ConfigDocument, integrations: list[Existing], triggers: list[Existing],
         *, prune: bool, redaction_rules: Sequence[RedactionRule] = ()) -> Plan:
    """What must change for the server (`integrations`, `triggers`, the deployment's
    `redaction_rules`) to match `document`. The whole document is checked first: an error
    (Invalid) means nothing may change."""
    result = Plan()
    if document.redaction_rules is not None:
        old = [r.model_dump() for r in redaction_rules]
        new = [r.model_dump() for r in document.redaction_rules]
        if _same(old, new):
            result.unchanged.append(Ref("redaction", "deployment"))
        else:
            result.redaction = Change("redaction", "deployment", "update",
                                      [FieldChange("redaction_rules", old, new)])
            result.redaction_rules = list(document.redaction_rules)
    wanted_i = {n: integration_entry(n, e) for n, e in (document.integrations or {}).items()}
    wanted_t = {n: trigger_entry(n, e) for n, e in (document.triggers or {}).items()}
    _unique("integrations", [spec.name for spec, _ in wanted_i.values()])
    _unique("triggers", [spec.name for spec in wanted_t.values()])
    server_i = {e.name.lower(): e for e in integrations}
    server_t = {e.name.lower(): e for e in triggers}
    file_i = {spec.name.lower(): spec.name for spec, _ in wanted_i.values()}
    known = set(file_i) if prune else set(file_i) | set(server_i)
    where_kept = "" if prune else " or on the server"

    for key, (spec, extra) in wanted_i.items():
        where = f"integrations.{key}.fallback"
        fallback = extra.fallback
        if fallback is not None:
            if fallback.lower() == spec.name.lower():
                raise Invalid(f"{where}: an integration cannot be its own fallback", field=where)
            if fallback.lower() not in known:
                raise Invalid(f"{where}: no integration named {fallback!r} in the "
                              f"file{where_kept}", field=where)
            fallback = _display(fallback.lower(), file_i, server_i)
        fields = spec.model_dump() | {"fallback": fallback}
        existing = server_i.get(spec.name.lower())
        if existing is None:
            changes = _diff(None, fields, INTEGRATION_FIELDS, INTEGRATION_DEFAULTS)
            if extra.signing_secret is not None:
                changes.append(FieldChange("signing_secret", None,
                                           mask_secret(extra.signing_secret), secret=True))
            if extra.status is not None:
                changes.append(FieldChange("status", "draft", extra.status))
            result.integrations.append(IntegrationStep(
                Change("integration", spec.name, "create", changes),
                spec.model_copy(update={"fallback": None}), fallback, True,
                extra.signing_secret, extra.status))
            continue
        current = dict(existing.fields)
        if current.get("fallback") is not None:
            current["fallback"] = _display(current["fallback"].lower(), file_i, server_i)
        changes = _diff(current, fields, INTEGRATION_FIELDS, INTEGRATION_DEFAULTS)
        if spec.name != existing.name:
            changes.insert(0, FieldChange("name", existing.name, spec.name))
        config_changed = bool(changes)
        secret = None
        if extra.signing_secret is not None and extra.signing_secret != existing.signing_secret:
            secret = extra.signing_secret
            changes.append(FieldChange(
                "signing_secret", mask_secret(existing.signing_secret or ""),
                mask_secret(secret), secret=True))
        status = None
        if extra.status is not None and extra.status != existing.status:
            status = extra.status
            changes.append(FieldChange("status", existing.status, status))
        if not changes:
            result.unchanged.append(Ref("integration", existing.name))
            continue
        result.integrations.append(IntegrationStep(
            Change("integration", spec.name, "update", changes, existing.id),
            spec.model_copy(update={"fallback": None}), fallback, config_changed, secret,
            status))

    for key, trigger in wanted_t.items():
        where = f"triggers.{key}.channels"
        channels = []
        for channel in trigger.channels:
            if channel.lower() not in known:
                raise Invalid(f"{where}: no integration named {channel!r} in the "
                              f"file{where_kept}", field=where)
            channels.append(_display(channel.lower(), file_i, server_i))
        trigger = trigger.model_copy(update={"channels": list(dict.fromkeys(channels))})
        fields = trigger.model_dump()
        fields["channels"] = sorted(fields["channels"], key=str.lower)
        existing = server_t.get(trigger.name.lower())
        if existing is None:
            result.triggers.append(TriggerStep(
                Change("trigger", trigger.name, "create",
                       _diff(None, fields, TRIGGER_FIELDS, TRIGGER_DEFAULTS)), trigger))
            continue
        current = dict(existing.fields)
        current["channels"] = sorted(
            (_display(c.lower(), file_i, server_i) for c in current["channels"]), key=str.lower)
        changes = _diff(current, fields, TRIGGER_FIELDS, TRIGGER_DEFAULTS)
        if trigger.name != existing.name:
            changes.insert(0, FieldChange("name", existing.name, trigger.name))
        if not changes:
            result.unchanged.append(Ref("trigger", existing.name))
            continue
        result.triggers.append(TriggerStep(
            Change("trigger", trigger.name, "update", changes, existing.id), trigger))

    _absent(result, "trigger", server_t, {spec.name.lower() for spec in wanted_t.values()},
            prune)
    _absent(result, "integration", server_i, set(file_i), prune)
    return result


def _absent(result: Plan, kind: Kind, server: Mapping[str, Existing], wanted: set[str],
            prune: bool) -> None:
    """Objects on the server that the document leaves out: deleted when pruning, else kept."""
    for key, existing in server.items():
        if key in wanted:
            continue
        if prune:
            result.deletions.append(Change(kind, existing.name, "delete", [], existing.id))
        else:
            result.not_in_file.append(Ref(kind, existing.name))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")


def _claim(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3`… when another name already made the same slug."""
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def _export_integration(item: Existing, prefix: str, secrets: list[SecretReference],
                        signing_secrets: bool) -> dict[str, Any]:
    parts: set[str] = set()

    def variable(part: str, kind: Literal["header", "template_option", "signing_secret"],
                 key: str | None) -> str:
        name = f"{prefix}_{_claim(part, parts)}"
        secrets.append(SecretReference(name, item.name, kind, key))
        return reference(name)

    entry: dict[str, Any] = {}
    for name in INTEGRATION_FIELDS:
        value = item.fields.get(name)
        if _same(value, INTEGRATION_DEFAULTS.get(name)):
            continue
        if name == "headers":
            value = {h: variable(f"HEADER_{_slug(h)}", "header", h)
                     if is_sensitive_header(h) else v for h, v in (value or {}).items()}
        elif name == "template_options":
            secret = templates.secret_options(item.fields.get("template") or "raw")
            value = {o: variable(f"OPTION_{_slug(o)}", "template_option", o)
                     if o in secret else v for o, v in (value or {}).items()}
        entry[name] = value
    if item.signing_secret and signing_secrets:
        entry["signing_secret"] = variable("SIGNING_SECRET", "signing_secret", None)
    if item.status in ("active", "disabled"):
        entry["status"] = item.status
    return entry


def export(integrations: list[Existing], triggers: list[Existing], *,
           signing_secrets: bool = True, redaction_rules: Sequence[RedactionRule] = (),
           ) -> tuple[dict[str, Any], list[SecretReference]]:
    """The document for what a server holds, and the secrets it refers to: secret header
    values, secret template options and signing secrets become
    `${ALERTWIRE_SECRET_<INTEGRATION>_HEADER_<HEADER>}`, `…_OPTION_<OPTION>}` and
    `…_SIGNING_SECRET}` (names upper-cased, other characters `_`; a name that would repeat
    another's gets `_2`). Without `signing_secrets` they are left out: unmanaged."""
    secrets: list[SecretReference] = []
    slugs: set[str] = set()
    written_i = {
        item.name: _export_integration(
            item, SECRET_PREFIX + _claim(_slug(item.name) or "INTEGRATION", slugs), secrets,
            signing_secrets)
        for item in sorted(integrations, key=lambda e: (e.name.lower(), e.id))
    }
    written_t: dict[str, Any] = {}
    for item in sorted(triggers, key=lambda e: (e.name.lower(), e.id)):
        written_t[item.name] = {
            name: item.fields.get(name) for name in TRIGGER_FIELDS
            if name == "channels" or not _same(item.fields.get(name), TRIGGER_DEFAULTS.get(name))
        }
    document: dict[str, Any] = {"version": VERSION, "integrations": written_i,
                                "triggers": written_t}
    if redaction_rules:
        document["redaction_rules"] = [r.model_dump() for r in redaction_rules]
    return document, secrets
