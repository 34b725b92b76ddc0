"""Redaction before anything leaves (SPEC §8).

A rule names a field path, a regular expression on values, or both (the expression then
applies only inside that field). What a rule matches becomes `[REDACTED]` in every outbound
body and query string: deliveries, replays, digests, Test Connection, fire drills, every
template (the template renders the alert *after* redaction, so no template can leak what a
rule removed). Stored alerts keep the original, for the console.

The default rules always apply; a deployment's rules (`/api/v1/redaction`) apply to every
integration, and an integration's own `redaction_rules` add to those. Log lines are masked
with the default rules and the deployment's expressions (`redact_text`).

Field paths are dotted, case-insensitive, relative to the alert: `Owner.Name`,
`output_fields."proc.cmdline"` (quotes hold a key with dots), `*` is any one key (globs such
as `*_password` work within a key), `**` any number of keys. Arrays are transparent:
`ATags` reaches every element. In a digest, paths apply to each alert it carries.

An expression replaces its whole match, or only what its first capture group captured when
it has one (`--password[= ](\\S+)` keeps `--password=`). Expressions are given a time limit
per value; one that runs out redacts the whole value rather than let it through.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any

import regex
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

REDACTED = "[REDACTED]"
MAX_RULES = 100
PATTERN_TIMEOUT = 0.05  # seconds one user expression may spend on one value


class RedactionRule(BaseModel):
    """A rule as the API, the console and configuration files write it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str | None, Field(max_length=100)] = None
    field: Annotated[str | None, Field(min_length=1, max_length=500, description=(
        "Dotted path from the alert's root (case-insensitive; `*` any one key, `**` any "
        "depth; quote keys holding dots: `output_fields.\"proc.cmdline\"`)."))] = None
    pattern: Annotated[str | None, Field(min_length=1, max_length=1000, description=(
        "Regular expression on values (and keys); its match, or its first capture group, "
        "becomes [REDACTED]."))] = None

    @model_validator(mode="after")
    def _check(self) -> RedactionRule:
        if self.field is None and self.pattern is None:
            raise ValueError("a rule needs a field, a pattern, or both")
        if self.field is not None:
            parse_field_path(self.field)
        if self.pattern is not None:
            try:
                regex.compile(self.pattern, regex.V0)
            except regex.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        return self

    @model_serializer(mode="wrap")
    def _compact(self, handler: SerializerFunctionWrapHandler) -> dict[str, str]:
        """Written without the parts a rule leaves out (in the API, files and the database)."""
        return {k: v for k, v in handler(self).items() if v is not None}

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return f"field {self.field}" if self.pattern is None else f"pattern {self.pattern}"


def parse_field_path(text: str) -> tuple[str, ...]:
    """`output_fields."proc.cmdline"` → ("output_fields", "proc.cmdline"); ValueError if
    a segment is empty or a quote is not closed."""
    segments: list[str] = []
    pos = 0
    while True:
        if text.startswith('"', pos):
            end = text.find('"', pos + 1)
            if end < 0:
                raise ValueError(f"field: the quote opened at position {pos} is not closed")
            segments.append(text[pos + 1:end])
            pos = end + 1
            if pos < len(text) and text[pos] != ".":
                raise ValueError(f"field: expected '.' after the quoted key at position {pos}")
        else:
            end = text.find(".", pos)
            end = len(text) if end < 0 else end
            segment = text[pos:end].strip()
            if not segment:
                raise ValueError(f"field: empty key at position {pos}")
            segments.append(segment)
            pos = end
        if pos >= len(text):
            return tuple(segments)
        pos += 1  # the dot


# ------------------------------------------------------------------------- the default rules

@dataclass(frozen=True)
class DefaultRule:
    name: str
    description: str
    pattern: str  # matched with re.ASCII: ASCII case folding only, as on bytes
    ignore_case: bool
    replace: Callable[[re.Match[str]], str]
    # Lower-case strings one of which any match contains, and one it always contains: a text
    # holding none of them cannot match, so the expression is not even run (it would cost
    # tens of microseconds per kilobyte; the substring checks cost well under one).
    needles: tuple[str, ...]
    requires: str = ""


def _keep(group: int) -> Callable[[re.Match[str]], str]:
    return lambda m: f"{m.group(group)}{REDACTED}"


def _quoted(m: re.Match[str]) -> str:
    """secret-assignments: the name and separator stay, a quoted value keeps its quotes."""
    if m.group(2) is not None:
        return f'{m.group(1)}"{REDACTED}"'
    if m.group(3) is not None:
        return f"{m.group(1)}'{REDACTED}'"
    return m.group(1) + REDACTED


_SECRET_WORDS = r"passw(?:or)?d|passwd|secret|token|api[_-]?key|apikey|access[_-]?key" \
    r"|private[_-]?key|client[_-]?secret|credentials?|authorization|auth[_-]?token"
_SECRET_NEEDLES = ("passw", "secret", "token", "api_key", "api-key", "apikey", "access_key",
                   "access-key", "private_key", "private-key", "credential", "authorization",
                   "auth_token", "auth-token")

DEFAULT_RULES: tuple[DefaultRule, ...] = (
    DefaultRule(
        "url-credentials", "user:password@ in URLs (postgresql://app:pw@db/…)",
        r"\b([a-z][a-z0-9+.\-]*://)[^/\s@?#'\"<>]+@", True, lambda m: f"{m.group(1)}{REDACTED}@",
        ("://",), "@"),
    DefaultRule(
        "private-key-blocks", "PEM private keys, BEGIN to END (or to the end of a cut value)",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*-----|\Z)",
        False, lambda m: REDACTED, ("private key",)),
    DefaultRule(
        "secret-query-parameters", "?token=…, &api_key=…, &X-Amz-Signature=… in URLs",
        r"([?&;][^=&\s#'\"]*(?:token|secret|key|passw|pwd|auth|sig|session|credential)"
        r"[^=&\s#'\"]*=)[^&\s#'\"<>]+", True, _keep(1), ("?", "&", ";"), "="),
    DefaultRule(
        "webhook-url-secrets", "Slack, Discord and Teams webhook URLs, whose path is the secret",
        r"((?:hooks\.slack\.com/(?:services|workflows|triggers)|discord(?:app)?\.com/api/webhooks"
        r"|webhook\.office\.com/webhookb2)/)[^\s'\"<>?#]+", True, _keep(1),
        ("hooks.slack.com", "discord", "webhook.office.com")),
    DefaultRule(
        "authorization-values", "Bearer, Basic and token credentials (Authorization headers)",
        r"\b(bearer|basic|token)(\s+|%20|\+)(?=\S*\d)[A-Za-z0-9._~+/=\-]{8,}", True,
        lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", ("bearer", "basic", "token")),
    DefaultRule(
        "token-shapes", "GitHub, GitLab, Slack, npm, OpenAI, Stripe, Google and JWT tokens, "
        "alertwire secrets, AWS access key ids",
        r"(?:\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}|\bglpat-[A-Za-z0-9_\-]{20,}"
        r"|\bxox[abposr]-[A-Za-z0-9\-]{10,}|\bnpm_[A-Za-z0-9]{36}|\bsk-[A-Za-z0-9_\-]{20,}"
        r"|\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}|\bAIza[A-Za-z0-9_\-]{35}"
        r"|\bwhsec_[A-Za-z0-9+/=]{16,}|\baw_[A-Za-z0-9_\-]{20,}"
        r"|(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}"
        r"|\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})",
        False, lambda m: REDACTED,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xox", "npm_", "sk-",
         "sk_", "rk_", "aiza", "whsec_", "aw_", "akia", "asia", "agpa", "aida", "aroa", "anpa",
         "anva", "aipa", "eyj")),
    DefaultRule(
        "secret-assignments", "password=…, --token …, DB_PASSWORD=…, \"api_key\": \"…\" "
        "(command lines, environment dumps, embedded JSON)",
        # Anchored on the flag's dash or on the secret word itself: a pattern that scanned a
        # name's prefix first would try every position of every word (quadratic).
        r"((?:--?[\w.\-]*?(?:" + _SECRET_WORDS + r")[\w.\-]*(?:\s*=\s*|\s+))"
        r"|(?:(?:" + _SECRET_WORDS + r")[\w.\-]*['\"]?\s*[=:]\s*)"
        r"(?:(?:bearer|basic|token)\s+)?)(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'&,;]+))", True,
        _quoted, _SECRET_NEEDLES),
)

# Keys whose values are secrets whatever they look like (`DB_PASSWORD`, `api_key`, …).
SECRET_FIELD_RULE = "secret-named-fields"
_SECRET_KEY = re.compile(r".*(?:" + _SECRET_WORDS + r").*", re.IGNORECASE | re.ASCII | re.DOTALL)


def default_rules() -> list[dict[str, str]]:
    """Names and descriptions of the rules that always apply (for the API and the console)."""
    return [{"name": r.name, "description": r.description} for r in DEFAULT_RULES] + [
        {"name": SECRET_FIELD_RULE, "description": "the whole value of any field whose name "
         "says it is a secret (password, token, api_key, secret, credentials, …)"}]


# --------------------------------------------------------------------------- compiled rules

_ANY_DEPTH = "**"


@dataclass(frozen=True)
class _Rule:
    name: str
    # Key matchers from the alert's root (`_ANY_DEPTH` or a compiled glob); None: anywhere.
    path: tuple[str | re.Pattern[str], ...] | None
    sub: Callable[[str], tuple[str, int]] | None  # None: the whole value
    needles: tuple[str, ...] | None = None  # None: may match any text (a user's rule)
    requires: str = ""
    gate: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gate", None if self.needles is None else _any_of(self.needles))

    def possible(self, lowered: str) -> bool:
        """Could this rule match anything in a text whose lower case is `lowered`?"""
        gate = self.gate
        return gate is None or (self.requires in lowered and gate.search(lowered) is not None)

    def path_matches(self, keys: tuple[str, ...]) -> bool:
        path = self.path
        assert path is not None
        if len(path) == 2 and path[0] == _ANY_DEPTH:  # `**.name`: only the last key counts
            last = path[1]
            return isinstance(last, re.Pattern) and last.fullmatch(keys[-1]) is not None
        return _matches(path, keys)


def _any_of(words: Iterable[str]) -> re.Pattern[str]:
    """One expression finding any of `words`, as a trie (`a(?:ccess_key|kia|…)`): CPython's
    engine then tries one branch per position instead of every word (18 µs a kilobyte where
    checking each word with `in` takes 30)."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict[str, Any]) -> str:
        if "" in node:
            return ""  # a shorter word ends here: finding it is enough
        alternatives = [re.escape(char) + branch(child) for char, child in sorted(node.items())]
        return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"

    return re.compile(branch(trie))


def _matches(path: Sequence[str | re.Pattern[str]], keys: Sequence[str]) -> bool:
    if not path:
        return not keys
    head = path[0]
    if head == _ANY_DEPTH:
        return any(_matches(path[1:], keys[i:]) for i in range(len(keys) + 1))
    assert isinstance(head, re.Pattern)
    return bool(keys) and head.fullmatch(keys[0]) is not None and _matches(path[1:], keys[1:])


def _default_sub(rule: DefaultRule) -> Callable[[str], tuple[str, int]]:
    compiled = re.compile(rule.pattern, re.ASCII | (re.IGNORECASE if rule.ignore_case else 0))
    return lambda text: compiled.subn(rule.replace, text)


class _Timeout(Exception):
    pass


def _user_sub(pattern: str) -> Callable[[str], tuple[str, int]]:
    compiled = regex.compile(pattern, regex.V0)

    def replace(m: Any) -> str:
        if compiled.groups == 0 or m.start(1) < 0:
            return REDACTED
        whole, start = m.group(0), m.start(0)
        return str(whole[:m.start(1) - start] + REDACTED + whole[m.end(1) - start:])

    def sub(text: str) -> tuple[str, int]:
        try:
            result: tuple[str, int] = compiled.subn(replace, text, timeout=PATTERN_TIMEOUT)
        except TimeoutError:
            raise _Timeout from None
        return result

    return sub


def _compile_path(text: str) -> tuple[str | re.Pattern[str], ...]:
    return tuple(
        _ANY_DEPTH if segment == _ANY_DEPTH
        else re.compile(fnmatch.translate(segment), re.IGNORECASE | re.DOTALL)
        for segment in parse_field_path(text)
    )


_DEFAULTS: tuple[_Rule, ...] = (
    *(_Rule(r.name, None, _default_sub(r), r.needles, r.requires) for r in DEFAULT_RULES),
    _Rule(SECRET_FIELD_RULE, (_ANY_DEPTH, _SECRET_KEY), None, _SECRET_NEEDLES),
)


# Some default rule might match a text only if this finds something in its lower case.
_ANY_NEEDLE = _any_of({n for rule in _DEFAULTS for n in rule.needles or ()})


@dataclass
class Finding:
    """One redaction, for previews: where it happened and which rule did it."""

    path: str
    rule: str


@dataclass
class _Walk:
    """The rules that could match this document, and what they did (for previews)."""

    everywhere: list[_Rule]
    fields: list[_Rule]
    record: bool = False
    findings: list[Finding] = field(default_factory=list)

    def found(self, where: tuple[str | int, ...], rule: str) -> None:
        if self.record:
            self.findings.append(Finding(display_path(where), rule))


def display_path(where: Iterable[str | int]) -> str:
    out = ""
    for part in where:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part if re.fullmatch(r"[A-Za-z0-9_\-]+", part) else json.dumps(part)
            out += f".{key}" if out else key
    return out


class Redactor:
    """The rules that apply to one integration, compiled (`redactor_for`)."""

    def __init__(self, rules: Sequence[RedactionRule]) -> None:
        self.custom = tuple(rules)
        self._rules = list(_DEFAULTS) + [
            _Rule(rule.label,
                  None if rule.field is None else _compile_path(rule.field),
                  None if rule.pattern is None else _user_sub(rule.pattern))
            for rule in rules
        ]

    def _walk(self, lowered: str, record: bool = False) -> _Walk | None:
        """The rules that could match a text whose lower case is `lowered`; None if none."""
        if not self.custom and _ANY_NEEDLE.search(lowered) is None:
            return None
        rules = [r for r in self._rules if r.possible(lowered)]
        if not rules:
            return None
        return _Walk([r for r in rules if r.path is None], [r for r in rules if r.path is not None],
                     record)

    # -- text (logs, bodies that are not JSON)

    def redact_text(self, text: str) -> str:
        walk = self._walk(text.lower())
        return text if walk is None else self._text(text, (), walk)[0]

    def _text(self, text: str, where: tuple[str | int, ...], walk: _Walk,
              rules: Sequence[_Rule] | None = None) -> tuple[str, bool]:
        changed = False
        lowered = text.lower()
        for rule in walk.everywhere if rules is None else rules:
            assert rule.sub is not None
            if not rule.possible(lowered):
                continue
            try:
                text, count = rule.sub(text)
            except _Timeout:
                walk.found(where, f"{rule.name} (timed out: whole value redacted)")
                return REDACTED, True
            if count:
                changed = True
                walk.found(where, rule.name)
        return text, changed

    # -- JSON

    def redact_json(self, payload: bytes) -> bytes:
        """The JSON body `payload` (UTF-8; other text is matched as text) with every match
        redacted; the very same bytes when nothing matched (a `raw` delivery stays byte for
        byte what was received)."""
        if b"\\" not in payload:
            # No escapes: every key and string stands verbatim in the bytes, so a rule whose
            # needles are not in the bytes matches nothing in the document.
            walk = self._walk(payload.decode("utf-8", "replace").lower())
            if walk is None:
                return payload
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return payload  # binary (a captured request replayed): no text to match
        try:
            value = json.loads(text)
        except ValueError:
            return self.redact_text(text).encode()
        redacted, changed = self.redact_value(value)
        if not changed:
            return payload
        return json.dumps(redacted, ensure_ascii=False, separators=(",", ":")).encode()

    def redact_value(self, value: Any) -> tuple[Any, bool]:
        """`value` (an alert, a digest, a test payload) redacted, and whether anything was."""
        walk = self._walk(_lowered(value))
        return (value, False) if walk is None else self._payload(value, walk)

    def findings(self, value: Any) -> tuple[Any, list[Finding]]:
        """What the rules make of `value`, and each redaction with its path and rule."""
        walk = self._walk(_lowered(value), record=True)
        if walk is None:
            return value, []
        result, _ = self._payload(value, walk)
        return result, walk.findings

    def _payload(self, value: Any, walk: _Walk) -> tuple[Any, bool]:
        if isinstance(value, dict) and value.get("type") == "alertwire.digest" \
                and isinstance(value.get("alerts"), list):
            # A digest: field paths apply to each alert it carries, not to the summary.
            out: dict[str, Any] = {}
            changed = False
            for key, item in value.items():
                if key == "alerts":
                    item, hit = self._digest_alerts(item, walk)
                else:
                    item, hit = self._value(item, (key,), None, walk)
                out[key] = item
                changed |= hit
            return out, changed
        return self._value(value, (), (), walk)

    def _digest_alerts(self, entries: list[Any], walk: _Walk) -> tuple[list[Any], bool]:
        out: list[Any] = []
        changed = False
        for index, entry in enumerate(entries):
            where: tuple[str | int, ...] = ("alerts", index)
            if isinstance(entry, dict) and "alert" in entry:
                new = {}
                for key, item in entry.items():
                    new[key], hit = self._value(item, (*where, key), () if key == "alert" else None,
                                                walk)
                    changed |= hit
                out.append(new)
            else:
                item, hit = self._value(entry, where, None, walk)
                out.append(item)
                changed |= hit
        return out, changed

    def _value(self, value: Any, where: tuple[str | int, ...], keys: tuple[str, ...] | None,
               walk: _Walk) -> tuple[Any, bool]:
        """`keys`: the path from the alert's root (None outside an alert: no field rules)."""
        if keys and value is not None and not isinstance(value, bool):
            for rule in walk.fields:
                if rule.path_matches(keys):
                    if rule.sub is None:
                        walk.found(where, rule.name)
                        return REDACTED, True
                    return self._within(value, where, rule, walk)
        if isinstance(value, str):
            return self._text(value, where, walk)
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            changed = False
            for key, item in value.items():
                new_key, key_hit = self._text(key, (*where, key), walk)
                item, hit = self._value(item, (*where, key),
                                        None if keys is None else (*keys, key), walk)
                out[_unique(new_key, out)] = item
                changed |= hit or key_hit
            return out, changed
        if isinstance(value, list):
            pairs = [self._value(item, (*where, i), keys, walk) for i, item in enumerate(value)]
            return [item for item, _ in pairs], any(hit for _, hit in pairs)
        if isinstance(value, int | float) and not isinstance(value, bool):
            # A number a user's rule matches (a PIN, a card number) is replaced as a whole;
            # no default rule matches digits alone.
            custom = [r for r in walk.everywhere if r.needles is None]
            if custom and self._text(json.dumps(value), where, walk, custom)[1]:
                return REDACTED, True
        return value, False

    def _within(self, value: Any, where: tuple[str | int, ...], rule: _Rule,
                walk: _Walk) -> tuple[Any, bool]:
        """A field rule with a pattern: the pattern on every string inside the field."""
        rules = [rule, *walk.everywhere]
        if isinstance(value, str):
            return self._text(value, where, walk, rules)
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            changed = False
            for key, item in value.items():
                new_key, key_hit = self._text(key, (*where, key), walk, rules)
                out[_unique(new_key, out)], hit = self._within(item, (*where, key), rule, walk)
                changed |= hit or key_hit
            return out, changed
        if isinstance(value, list):
            pairs = [self._within(v, (*where, i), rule, walk) for i, v in enumerate(value)]
            return [v for v, _ in pairs], any(h for _, h in pairs)
        return self._value(value, where, None, walk)


def _lowered(value: Any) -> str:
    # ensure_ascii=False escapes only quotes, backslashes and control characters, none of
    # which any needle holds: each key and string's needles stand in this text.
    return json.dumps(value, ensure_ascii=False).lower()


def _unique(key: str, taken: dict[str, Any]) -> str:
    """Two keys redacted alike must not overwrite each other's values."""
    while key in taken:
        key += "'"
    return key


@lru_cache(maxsize=256)
def redactor_for(rules: tuple[RedactionRule, ...]) -> Redactor:
    """The compiled redactor for these rules (the deployment's, then the integration's)."""
    return Redactor(rules)


DEFAULT_REDACTOR = Redactor(())

# Log lines: the default rules plus the deployment's (set by `use_for_logs`).
_log_redactor = DEFAULT_REDACTOR


def use_for_logs(rules: Sequence[RedactionRule]) -> None:
    """The deployment's rules also mask log lines from now on (its expressions; field paths
    have no meaning in free text)."""
    global _log_redactor
    _log_redactor = redactor_for(tuple(r for r in rules if r.field is None))


def redact_text(text: str) -> str:
    """`text` with every credential it visibly holds replaced by [REDACTED] (log lines)."""
    return _log_redactor.redact_text(text)
