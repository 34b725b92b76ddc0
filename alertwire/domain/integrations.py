"""Webhook integrations: the fields of SPEC §2, their validation, fingerprints and masking."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
)

from alertwire.domain import templates
from alertwire.domain.redaction import MAX_RULES, RedactionRule
from alertwire.domain.ssrf import Network, Refused, literal_address, refusal_reason

Method = Literal["POST", "PUT", "GET"]
Status = Literal["draft", "active", "disabled"]
DEFAULT_SUCCESS_CODES = [200, 201, 202, 204]
TEMPLATES = templates.names()
MAX_HEADERS = 50
MAX_HEADER_VALUE = 8192

# Numbers and booleans as JSON writes them: where the API documents an integer, "5", 5.0 and
# true are refused, not coerced (the console converts its form text before validating).
JsonInt = Annotated[int, Strict()]
JsonFloat = Annotated[float, Strict()]
JsonBool = Annotated[bool, Strict()]

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Headers alertwire itself sets or that would corrupt the request if a user overrode them.
_RESERVED_HEADERS = {
    "host", "content-length", "transfer-encoding", "connection",
    "webhook-id", "webhook-timestamp", "webhook-signature",
}
_SENSITIVE = re.compile(r"auth|token|key|secret|passw|cookie|signature|session|credential")


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def validate_url(url: str) -> str:
    url = url.strip()
    if len(url) > 2048:
        raise ValueError("must be at most 2048 characters")
    if any(c.isspace() for c in url):
        raise ValueError("must not contain whitespace")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an absolute http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValueError("has an invalid port") from None
    return url


def validate_headers(headers: dict[str, str]) -> dict[str, str]:
    if len(headers) > MAX_HEADERS:
        raise ValueError(f"at most {MAX_HEADERS} headers")
    seen: set[str] = set()
    for name, value in headers.items():
        if not _TOKEN.match(name):
            raise ValueError(f"{name!r} is not a valid header name (HTTP token characters only)")
        lower = name.lower()
        if lower in _RESERVED_HEADERS:
            raise ValueError(f"{name!r} is set by alertwire and cannot be configured")
        if lower in seen:
            raise ValueError(f"{name!r} is given twice (header names are case-insensitive)")
        seen.add(lower)
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError(f"value of {name!r} must not contain CR, LF or NUL")
        if len(value) > MAX_HEADER_VALUE:
            raise ValueError(f"value of {name!r} is longer than {MAX_HEADER_VALUE} characters")
    return headers


def validate_template(value: str) -> str:
    if value not in TEMPLATES:
        raise ValueError(f"unknown template {value!r}; known: {', '.join(TEMPLATES)}")
    return value


def validate_template_options(value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    """Checked against the chosen template's options model; a problem is located at
    `template_options.<option>`. (Nothing to check when the template itself is invalid.)"""
    template = info.data.get("template")
    if template is None:
        return value
    return templates.validate_options(template, value)


class TemplateChoice(BaseModel):
    """A destination template and its options, checked against that template (SPEC §6)."""

    model_config = ConfigDict(extra="forbid")

    template: str = "raw"
    template_options: dict[str, Any] = Field(default_factory=dict, validate_default=True)

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        return validate_template(value)

    @field_validator("template_options")
    @classmethod
    def _template_options(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        return validate_template_options(value, info)


class IntegrationConfig(TemplateChoice):
    """What decides how a webhook is sent: the part a Test Connection exercises."""

    method: Annotated[Method, BeforeValidator(_upper)] = "POST"
    # (The constraints are checked by the validators below, with clearer messages; the
    # schema states them for API clients.)
    url: Annotated[str, Field(json_schema_extra={"format": "uri", "minLength": 1,
                                                 "maxLength": 2048})]
    success_codes: list[JsonInt] = Field(
        default_factory=lambda: list(DEFAULT_SUCCESS_CODES),
        json_schema_extra={"minItems": 1,
                           "items": {"type": "integer", "minimum": 100, "maximum": 599}})
    test_payload: Any = None
    headers: dict[str, str] = Field(default_factory=dict)
    # Added to the deployment's rules and the defaults for this integration only (SPEC §8).
    redaction_rules: Annotated[list[RedactionRule], Field(max_length=MAX_RULES)] = Field(
        default_factory=list)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return validate_url(value)

    @field_validator("success_codes")
    @classmethod
    def _codes(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("must list at least one status code")
        for code in value:
            if not 100 <= code <= 599:
                raise ValueError(f"{code} is not an HTTP status code (100-599)")
        return sorted(set(value))

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return validate_headers(value)

    def fingerprint_source(self) -> bytes:
        """Canonical bytes of the configuration: a test is valid only for these exact bytes."""
        fields = self.model_dump(mode="json")
        if not fields["redaction_rules"]:
            del fields["redaction_rules"]  # as before rules existed: old tests stay valid
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


class TemplatePreview(TemplateChoice):
    """`POST /integrations/preview`: a template, its options and an alert (or the sample),
    with the integration's own redaction rules (the deployment's apply anyway)."""

    alert: Any = None
    redaction_rules: Annotated[list[RedactionRule], Field(max_length=MAX_RULES)] = Field(
        default_factory=list)


class IntegrationCreate(IntegrationConfig):
    name: Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=100)]
    description: Annotated[str | None, Field(max_length=1000)] = None
    fallback: str | None = None
    # Shared by every worker: requests in flight at once, and requests per second.
    max_concurrency: Annotated[JsonInt, Field(ge=1, le=1000)] = 10
    rate_limit: Annotated[JsonFloat | None, Field(gt=0, le=10_000)] = None


class UnsavedTest(IntegrationConfig):
    """Test Connection on a form not saved yet: name and description may come along."""

    model_config = ConfigDict(extra="ignore")


class IntegrationPatch(BaseModel):
    """Every field optional; the merged result is validated as an `IntegrationCreate`."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    method: str | None = None
    url: str | None = None
    success_codes: list[JsonInt] | None = None
    test_payload: Any = None
    description: str | None = None
    headers: dict[str, str] | None = None
    template: str | None = None
    template_options: dict[str, Any] | None = None
    redaction_rules: list[dict[str, Any]] | None = None
    fallback: str | None = None
    max_concurrency: JsonInt | None = None
    rate_limit: JsonFloat | None = None


def url_refusal(url: str, allowed: tuple[Network, ...]) -> str | None:
    """Why the URL's host, when it is a literal address, may not be targeted (None if fine).

    Host names are judged when they are resolved, at send time.
    """
    host = urlsplit(url).hostname or ""
    addr = literal_address(host)
    if addr is None:
        return None
    return refusal_reason(addr, allowed)


def check_url_target(url: str, allowed: tuple[Network, ...]) -> None:
    reason = url_refusal(url, allowed)
    if reason is not None:
        raise Refused(reason)


def is_sensitive_header(name: str) -> bool:
    return bool(_SENSITIVE.search(name.lower()))


def mask_secret(value: str) -> str:
    """`token ghp_abc123…` → `token ghp_…****`: enough to recognise it, not to use it."""
    scheme, sep, rest = value.partition(" ")
    if sep and 0 < len(scheme) <= 10 and rest:
        return f"{scheme} {rest[:4]}…****"
    if len(value) > 8:
        return f"{value[:4]}…****"
    return "****"


def mask_header_value(name: str, value: str) -> str:
    """Values of harmless headers stay readable."""
    return mask_secret(value) if is_sensitive_header(name) else value


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: mask_header_value(name, value) for name, value in headers.items()}


def unmask_headers(submitted: dict[str, str], stored: dict[str, str]) -> dict[str, str]:
    """Keep a stored secret when a client sends back the masked value it was shown."""
    by_lower = {name.lower(): value for name, value in stored.items()}
    result: dict[str, str] = {}
    for name, value in submitted.items():
        old = by_lower.get(name.lower())
        if old is not None and value != old and value == mask_header_value(name, old):
            result[name] = old
        else:
            result[name] = value
    return result


def mask_template_options(template: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options with the template's secret ones (`writeOnly` in its schema) masked."""
    secret = templates.secret_options(template)
    return {name: mask_secret(str(value)) if name in secret else value
            for name, value in options.items()}


def unmask_template_options(template: str, submitted: dict[str, Any], stored_template: str,
                            stored: dict[str, Any]) -> dict[str, Any]:
    """Keep a stored secret option when a client sends back the masked value it was shown
    (only for the same template: another template's options mean nothing to this one)."""
    result = dict(submitted)
    if template != stored_template:
        return result
    for name in templates.secret_options(template) & submitted.keys() & stored.keys():
        old = stored[name]
        if submitted[name] != old and submitted[name] == mask_secret(str(old)):
            result[name] = old
    return result


def hide_secrets(value: Any, secrets: dict[str, str]) -> Any:
    """`value` (a rendered body) with each secret string in `secrets` replaced by its mask,
    so a preview does not show the saved secret that the form showed masked."""
    if isinstance(value, str):
        for secret, masked in secrets.items():
            value = value.replace(secret, masked)
        return value
    if isinstance(value, list):
        return [hide_secrets(item, secrets) for item in value]
    if isinstance(value, dict):
        return {key: hide_secrets(item, secrets) for key, item in value.items()}
    return value


class LatestTest(Protocol):
    @property
    def ok(self) -> bool: ...

    @property
    def config_fingerprint(self) -> str: ...


def connect_refusal(latest: LatestTest | None, fingerprint: str) -> str | None:
    """Why Connect must wait (None when it may go ahead): the newest test must be of this
    exact configuration, and must have succeeded."""
    if latest is None:
        return "run Test Connection first: this integration has never been tested"
    if latest.config_fingerprint != fingerprint:
        return "the configuration changed since the last test: run Test Connection again"
    if not latest.ok:
        return "the last Test Connection failed: fix the integration and test again"
    return None
