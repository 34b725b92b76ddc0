"""What an alert says, in the words a person on call acts on: policy, action, process,
resource, where (namespace/pod, host) and severity. Every destination template formats this
one summary; none of them digs through KubeArmor, Falco or generic fields itself."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from alertwire.domain.alerts import detect_source
from alertwire.domain.filters import lookup
from alertwire.domain.severity import severity_for_templates, severity_text
from alertwire.domain.templates._text import dumps, fit_lines, join_within, one_line, truncate

Kind = Literal["kubearmor", "falco", "generic", "digest"]
DIGEST_TYPE = "alertwire.digest"
# A fact's value is cut to this in summaries; destinations cut further where they must.
FACT_LIMIT = 1000
# A digest lists at most this many alerts (one part's worth, `digests.DIGEST_ALERT_CAP`),
# one line each, every line cut to DIGEST_LINE_LIMIT so one huge alert cannot crowd out
# the others.
DIGEST_LINES = 50
DIGEST_LINE_LIMIT = 160


def more_tags(left_out: int) -> str:
    return f"… and {left_out} more tags"


def more_alerts(left_out: int) -> str:
    return f"… and {left_out} more alerts not listed here"


def more_notes(left_out: int) -> str:
    return f"… and {left_out} more lines"


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Summary:
    kind: Kind
    alert: Any  # the alert as parsed from the bytes received
    policy: str | None = None
    action: str | None = None
    result: str | None = None
    process: str | None = None
    command: str | None = None
    parent_process: str | None = None
    resource: str | None = None
    operation: str | None = None
    event_type: str | None = None  # KubeArmor's Type (MatchedPolicy, ContainerLog, …)
    host: str | None = None
    cluster: str | None = None
    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    image: str | None = None
    workload: str | None = None
    user: str | None = None
    severity: int | None = None  # 1-10 (Falco priorities mapped)
    priority: str | None = None  # Falco's own word for it
    message: str | None = None  # KubeArmor Message, Falco output, generic message
    tags: tuple[str, ...] = ()
    timestamp: float | None = None  # epoch seconds, when the alert says when
    label: str | None = None  # generic alerts: what to call it when nothing else does
    details: tuple[str, ...] = field(default=())  # digests: one line per alert
    # Digests: the lines above stand for this many alerts (the rest of `details` is notes).
    listed: int = 0
    part: tuple[int, int] | None = None  # digests split in parts: (index, count), 1-based

    @property
    def source_name(self) -> str:
        return {"kubearmor": "KubeArmor", "falco": "Falco", "generic": "Alert",
                "digest": "alertwire digest"}[self.kind]

    @property
    def title(self) -> str:
        """Short: which tool, what it did, which policy or rule."""
        if self.kind == "digest":
            if self.part is not None and self.part[1] > 1:
                return f"alertwire digest part {self.part[0]} of {self.part[1]}: {self.label}"
            return f"alertwire digest: {self.label}"
        if self.kind == "falco":
            return f"Falco {self.priority or 'event'}: {self.policy or 'no rule'}"
        if self.kind == "kubearmor":
            if self.policy is None and self.action is None:
                what = self.event_type or "log"
                return f"KubeArmor {what} (no policy): {self.operation or 'event'}"
            return f"KubeArmor {self.action or 'alert'}: {self.policy or 'no policy'}"
        head = f"Alert {self.action}" if self.action else "Alert"
        return f"{head}: {self.policy or self.label or 'no title'}"

    @property
    def where(self) -> str | None:
        """`in <namespace>/<pod> on host <host>`, as much of it as the alert tells."""
        parts: list[str] = []
        if self.pod:
            parts.append(f"in {self.namespace}/{self.pod}" if self.namespace else
                         f"in pod {self.pod}")
        elif self.namespace:
            parts.append(f"in namespace {self.namespace}")
        if self.host:
            parts.append(f"on host {self.host}")
        return " ".join(parts) or None

    @property
    def severity_label(self) -> str:
        text = severity_text(self.severity)
        return f"{text}, Falco {self.priority}" if self.priority else text

    @property
    def headline(self) -> str:
        """One line naming everything a person on call needs, most important first (short
        fields such as ServiceNow's 160 characters cut it from the end)."""
        parts = [f"{self.title} [severity {severity_text(self.severity)}]"]
        what = " → ".join(p for p in (self.process, self.resource) if p)
        if what:
            parts.append(what)
        if self.where:
            parts.append(self.where)
        return one_line(" — ".join(parts))

    @property
    def digest_line(self) -> str:
        """The alert as one line of a digest: like the headline, but where it happened
        before what it touched, so that a long resource or command cut from the end of the
        line leaves each alert of the list telling where it is."""
        parts = [f"{self.title} [severity {severity_text(self.severity)}]"]
        if self.where:
            parts.append(self.where)
        what = " → ".join(p for p in (self.process, self.resource) if p)
        if what:
            parts.append(what)
        return "• " + truncate(one_line(" — ".join(parts)), DIGEST_LINE_LIMIT - 2)

    def facts(self, limit: int = FACT_LIMIT) -> list[tuple[str, str]]:
        """(label, value) for every field the alert states, most important first, each
        value cut visibly to `limit` characters (tags as whole tags: `… and 180 more
        tags`)."""
        rows: list[tuple[str, str | None]] = [
            ("Severity", self.severity_label),
            ("Policy" if self.kind != "falco" else "Rule", self.policy),
            ("Action", self.action),
            ("Result", self.result),
            ("Process", self.process),
            ("Command", self.command if self.command != self.process else None),
            ("Parent process", self.parent_process),
            ("Resource", self.resource),
            ("Operation", self.operation),
            ("Namespace", self.namespace),
            ("Pod", self.pod),
            ("Container", self.container),
            ("Image", self.image),
            ("Workload", self.workload),
            ("Host", self.host),
            ("Cluster", self.cluster),
            ("User", self.user),
            ("Tags", join_within(list(self.tags), limit, more_tags) if self.tags else None),
            ("Time", self.iso_time()),
        ]
        return [(label, truncate(value, limit)) for label, value in rows if value]

    def text(self, limit: int | None = None) -> str:
        """Headline, facts one per line, message and digest lines: for plain-text fields.
        Within `limit` characters, a digest's alert lines are kept whole and the ones that do
        not fit are counted (`… and 12 more alerts not listed here`)."""
        lines = [self.headline, ""]
        lines += [f"{label}: {value}" for label, value in self.facts()]
        if self.message:
            lines += ["", self.message]
        head = "\n".join(lines)
        if limit is None:
            return "\n\n".join([head, *(["\n".join(self.details)] if self.details else [])])
        if not self.details:
            return truncate(head, limit)
        # The digest's head (counts) is short; the alert lines get at least two thirds.
        head = truncate(head, limit // 3) + "\n\n"
        return head + self.detail_lines(limit - len(head))

    def detail_lines(self, limit: int, *, escape: Callable[[str], str] = _same,
                     measure: Callable[[str], int] = len) -> str:
        """A digest's alert lines within `limit`: whole lines, the rest counted."""
        if not self.details:
            return ""
        alerts, notes = list(self.details[:self.listed]), list(self.details[self.listed:])
        if not alerts:
            return fit_lines(notes, limit, more_notes, escape=escape, measure=measure)
        # Notes (how many alerts no part lists) come last and must stay: fit them first.
        tail = "\n".join(escape(n) for n in notes)
        room = limit - (measure(tail) + 1 if notes else 0)
        if room < limit // 2:  # notes that long come from no digest alertwire makes
            return fit_lines([*alerts, *notes], limit, more_notes, escape=escape,
                             measure=measure)
        shown = fit_lines(alerts, room, more_alerts, escape=escape, measure=measure)
        return f"{shown}\n{tail}" if notes else shown

    def iso_time(self) -> str | None:
        if self.timestamp is None:
            return None
        return datetime.fromtimestamp(self.timestamp, UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")

    def identity(self) -> str:
        """What makes repeats of one problem the same: tool, policy, action, workload or
        host, process. Used as the PagerDuty dedup key and ServiceNow correlation id."""
        parts = [self.kind, self.policy, self.action, self.namespace, self.pod or self.host,
                 self.process]
        return "/".join(p for p in parts if p)

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON values (custom templates, GitHub client_payload)."""
        return {
            "source": self.kind, "title": self.title, "headline": self.headline,
            "policy": self.policy, "action": self.action, "result": self.result,
            "process": self.process, "command": self.command,
            "parent_process": self.parent_process, "resource": self.resource,
            "operation": self.operation, "host": self.host, "cluster": self.cluster,
            "namespace": self.namespace, "pod": self.pod, "container": self.container,
            "image": self.image, "workload": self.workload, "user": self.user,
            "severity": self.severity, "severity_label": self.severity_label,
            "priority": self.priority, "message": self.message, "tags": list(self.tags),
            "timestamp": self.iso_time(), "where": self.where,
            "facts": [list(f) for f in self.facts()], "text": self.text(),
        }


def field_value(alert: Any, path: str) -> Any:
    """The value at a field path: a top-level key as written (`fd.name` included), else
    dotted segments (`Owner.Name`, `output_fields.fd.name`); None when absent."""
    if not isinstance(alert, Mapping):
        return None
    found, value = lookup(alert, [path])
    if found:
        return value
    head, dot, rest = path.partition(".")
    if not dot:
        return None
    found, value = lookup(alert, [head])
    return field_value(value, rest) if found else None


def _text(value: Any) -> str | None:
    """A field as display text; None for absent or empty values."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return dumps(value)


def _exact(alert: Any, path: str) -> Any:
    """Like `field_value` but with exact key names: the summary knows the sources' spelling,
    and an alert with thousands of keys must not be scanned once per field."""
    if not isinstance(alert, Mapping):
        return None
    if path in alert:
        return alert[path]
    head, dot, rest = path.partition(".")
    return _exact(alert.get(head), rest) if dot and head in alert else None


def _first(alert: Any, *paths: str) -> str | None:
    for path in paths:
        text = _text(_exact(alert, path))
        if text is not None:
            return text
    return None


_LATEST = 253_402_300_799  # 9999-12-31T23:59:59Z: later times cannot be written in ISO 8601


def _epoch(value: Any) -> float | None:
    """Epoch seconds from a number (seconds, or milli-, micro-, nanoseconds) or an ISO 8601
    string; None for anything else, including times no destination could show."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds):
            return None
        while seconds > 1e11:
            seconds /= 1000
        return seconds if 0 <= seconds <= _LATEST else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError:
            try:
                return _epoch(float(value))
            except ValueError:
                return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        try:
            return _epoch(parsed.timestamp())
        except (OverflowError, ValueError):
            return None
    return None


def _first_time(alert: Any, *paths: str) -> float | None:
    for path in paths:
        found = _epoch(_exact(alert, path))
        if found is not None:
            return found
    return None


def _tags(*values: Any) -> tuple[str, ...]:
    for value in values:
        if isinstance(value, list) and value:
            return tuple(str(v) for v in value)
        if isinstance(value, str) and value.strip():
            return tuple(t.strip() for t in value.split(",") if t.strip())
    return ()


def _kubearmor(alert: Mapping[str, Any]) -> Summary:
    owner = alert.get("Owner")
    workload = None
    if isinstance(owner, Mapping) and owner.get("Name"):
        workload = f"{owner.get('Ref') or 'Owner'} {owner['Name']}"
    return Summary(
        kind="kubearmor", alert=alert,
        policy=_first(alert, "PolicyName"), action=_first(alert, "Action"),
        result=_first(alert, "Result"),
        process=_first(alert, "ProcessName", "Source"), command=_first(alert, "Source"),
        parent_process=_first(alert, "ParentProcessName"),
        # Sparse alerts (default posture) carry no Resource; their Data says what was denied.
        resource=_first(alert, "Resource", "Data"), operation=_first(alert, "Operation"),
        event_type=_first(alert, "Type"),
        host=_first(alert, "HostName"), cluster=_first(alert, "ClusterName"),
        namespace=_first(alert, "NamespaceName"), pod=_first(alert, "PodName"),
        container=_first(alert, "ContainerName"), image=_first(alert, "ContainerImage"),
        workload=workload, user=_first(alert, "UserName"),
        severity=severity_for_templates(alert), message=_first(alert, "Message"),
        tags=_tags(alert.get("ATags"), alert.get("Tags")),
        timestamp=_first_time(alert, "UpdatedTime", "Timestamp"),
    )


def _falco(alert: Mapping[str, Any]) -> Summary:
    fields = _mapping(alert.get("output_fields"))

    def of(*names: str) -> str | None:
        return next((t for t in (_text(fields.get(n)) for n in names) if t), None)

    return Summary(
        kind="falco", alert=alert,
        policy=_first(alert, "rule"), priority=_first(alert, "priority"),
        process=of("proc.cmdline", "proc.name", "proc.exepath", "proc.exe"),
        command=of("proc.cmdline"), parent_process=of("proc.pname", "proc.pcmdline"),
        resource=of("fd.name", "fs.path.name", "fd.filename", "evt.arg.path",
                    "evt.arg.name"),
        operation=of("evt.type"),
        host=_first(alert, "hostname") or of("hostname"),
        namespace=of("k8s.ns.name"), pod=of("k8s.pod.name"),
        container=of("container.name"),
        image=of("container.image.repository", "container.image"),
        user=of("user.name", "user.loginname"),
        severity=severity_for_templates(alert), message=_first(alert, "output"),
        tags=_tags(alert.get("tags")),
        timestamp=_first_time(alert, "time") or _epoch(fields.get("evt.time")),
    )


_GENERIC = {
    "policy": ("policy", "policy_name", "PolicyName", "rule", "rule_name", "alertname",
               "labels.alertname", "name", "title", "check", "signature"),
    "action": ("action", "outcome", "decision"),
    "process": ("process", "process_name", "proc", "command", "cmd", "executable"),
    "resource": ("resource", "file", "path", "target", "object", "url", "destination"),
    "host": ("host", "hostname", "host_name", "HostName", "instance", "node",
             "labels.instance"),
    "namespace": ("namespace", "labels.namespace"),
    "pod": ("pod", "pod_name", "labels.pod"),
    "message": ("message", "msg", "description", "summary", "annotations.summary",
                "annotations.description", "output", "text", "details"),
}


def _generic(alert: Any) -> Summary:
    if not isinstance(alert, Mapping):
        # A test payload may be any JSON value: say what it is rather than refuse it.
        text = alert if isinstance(alert, str) else dumps(alert)
        return Summary(kind="generic", alert=alert, label=truncate(one_line(text), 200),
                       message=truncate(text, FACT_LIMIT))
    # Generic field names come in any case: look them up in a lower-cased view, built once.
    folded = {str(k).lower(): v for k, v in alert.items()}
    found = {name: _first(folded, *(p.lower() for p in paths))
             for name, paths in _GENERIC.items()}
    scalars = [f"{k}={v}" for k, v in alert.items()
               if isinstance(v, str | int | float) and not isinstance(v, bool)][:3]
    return Summary(
        kind="generic", alert=alert,
        policy=found["policy"], action=found["action"], process=found["process"],
        resource=found["resource"], host=found["host"], namespace=found["namespace"],
        pod=found["pod"], message=found["message"],
        severity=severity_for_templates(alert),
        tags=_tags(folded.get("tags")),
        timestamp=_first_time(folded, "@timestamp", "timestamp", "time", "ts", "date",
                              "created_at", "startsat", "event_time"),
        label=truncate(one_line(found["message"] or ", ".join(scalars)), 200)
        if found["message"] or scalars else None,
    )


def _counts(value: Any, limit: int = 5) -> str | None:
    if not isinstance(value, Mapping) or not value:
        return None
    items = list(value.items())
    text = ", ".join(f"{name} ×{count}" for name, count in items[:limit])
    if len(items) > limit:
        text += f" and {len(items) - limit} more"
    return text


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _part(value: Any) -> tuple[int, int] | None:
    """`{"index": k, "count": n}` as (k, n) when it makes sense, else None."""
    part = _mapping(value)
    index, count = _count(part.get("index")), _count(part.get("count"))
    return (index, count) if 1 <= index <= count else None


def _digest(alert: Mapping[str, Any]) -> Summary:
    counts = _mapping(alert.get("counts"))
    severities = [min(10, int(k)) for k in _mapping(counts.get("Severity"))
                  if isinstance(k, str) and k.isdecimal()]
    period: Mapping[str, Any] = _mapping(alert.get("period"))
    total = alert.get("total", 0)
    part = _part(alert.get("part"))
    listed = alert.get("alerts")
    alerts: list[Any] = listed if isinstance(listed, list) else []
    lines = []
    for item in alerts[:DIGEST_LINES]:
        inner = item.get("alert") if isinstance(item, Mapping) else item
        lines.append(summarize_value(inner).digest_line)
    notes = []
    if len(alerts) > DIGEST_LINES:  # not a digest alertwire makes: it lists one part's worth
        notes.append(more_alerts(len(alerts) - DIGEST_LINES))
    left_out = _count(alert.get("alerts_left_out"))
    if left_out:
        notes.append(f"… and {left_out} more alerts of this period not listed in any "
                     f"message (too many for one digest)")
    message = f"{total} alerts from {period.get('start')} to {period.get('end')}"
    if part is not None and part[1] > 1:
        message += f"; part {part[0]} of {part[1]} lists {len(alerts)} of them"
    return Summary(
        kind="digest", alert=alert,
        label=f"{alert.get('trigger', 'trigger')}, {total} alerts",
        policy=_counts(counts.get("PolicyName")), action=_counts(counts.get("Action")),
        namespace=_counts(counts.get("Namespace/Host")),
        severity=max(severities) if severities else None,
        message=message, timestamp=_epoch(period.get("end")),
        details=tuple(lines + notes), listed=len(lines), part=part,
    )


def summarize_value(alert: Any) -> Summary:
    if isinstance(alert, Mapping):
        if alert.get("type") == DIGEST_TYPE and "counts" in alert:
            return _digest(alert)
        source = detect_source(dict(alert))
        if source == "falco":
            return _falco(alert)
        if source == "kubearmor":
            return _kubearmor(alert)
    return _generic(alert)


def parse_alert(body: bytes) -> Any:
    """The alert bytes as JSON; bytes that are not JSON are kept as text, never refused."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return body.decode("utf-8", "replace")


def summarize(body: bytes) -> Summary:
    return summarize_value(parse_alert(body))
