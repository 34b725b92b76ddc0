"""Destination limits (SPEC §6): every template, fed oversize alerts (a 100 KiB `Data`, 200
tags, 200 Falco output fields) and 500-alert digests, sends a body its destination accepts
(sizes, block and field counts, text lengths as the destinations document them, written out
here rather than read from the code) and never loses anything silently: what is not there
whole is announced by a visible cut (`… 312 more characters`, `… and 180 more tags`,
`… and 12 more alerts not listed here`, `… 40 more items`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from alertwire.domain.digests import DigestAlert, build_digest, build_digest_parts
from alertwire.domain.templates import TemplateRenderError, render, summarize
from tests.fixtures import FIXTURES
from tests.unit.templates.test_jira import assert_issue
from tests.unit.templates.test_pagerduty import KEY, assert_event
from tests.unit.templates.test_servicenow import assert_incident
from tests.unit.templates.test_slack import assert_within_slack_limits
from tests.unit.templates.test_teams import assert_valid_teams_message

CUT = re.compile(r"… (and )?(\d+) more (characters|tags|items|alerts|lines)")
MORE_ALERTS = re.compile(r"… and (\d+) more alerts not listed here")
DATA_SIZE = 100 * 1024
TAG_COUNT = 200

CUSTOM = '{"text": {{ text|tojson }}, "alert": {{ alert|tojson }}}'
GITHUB_FIELDS = ["PolicyName", "Action", "PodName", "HostName", "Data", "Tags", "ATags",
                 "rule", "hostname", "output_fields"]
CONFIGS = [
    pytest.param("raw", {}, id="raw"),
    pytest.param("slack", {}, id="slack"),
    pytest.param("teams", {}, id="teams"),
    pytest.param("jira", {"project_key": "SEC", "issue_type": "Bug"}, id="jira-v2"),
    pytest.param("jira", {"project_key": "SEC", "issue_type": "Bug", "api_version": 3},
                 id="jira-v3"),
    pytest.param("servicenow", {}, id="servicenow"),
    pytest.param("splunk_hec", {}, id="splunk_hec"),
    pytest.param("elastic", {}, id="elastic"),
    pytest.param("elastic", {"alert_encoding": "string"}, id="elastic-string"),
    pytest.param("pagerduty", {"routing_key": KEY}, id="pagerduty"),
    pytest.param("github_dispatch", {}, id="github_dispatch"),
    pytest.param("github_dispatch", {"fields": GITHUB_FIELDS}, id="github_dispatch-fields"),
    pytest.param("custom", {"template": CUSTOM}, id="custom"),
]
# Templates that summarise a digest in words: they list its alerts one line each.
SUMMARISING = {"slack", "teams", "jira", "servicenow"}


def fixture(path: str) -> dict[str, Any]:
    alert: dict[str, Any] = json.loads((FIXTURES / path).read_bytes())
    return alert


def kubearmor() -> dict[str, Any]:
    return fixture("kubearmor/alerts/container-file-block.json")


def falco() -> dict[str, Any]:
    return fixture("falco/falco-write-below-binary-dir.json")


def tag(i: int) -> str:
    return f"MITRE_T{i:04d}_tag"


def data_100k() -> dict[str, Any]:
    alert = kubearmor()
    alert["Data"] = ("syscall=SYS_UNLINKAT flags= " + "D" * DATA_SIZE)[:DATA_SIZE]
    return alert


def data_100k_wide() -> dict[str, Any]:
    """The same in characters of three UTF-8 bytes each: budgets are bytes, limits chars."""
    alert = kubearmor()
    alert["Data"] = "データ" * (DATA_SIZE // 3)
    return alert


def data_100k_sparse() -> dict[str, Any]:
    """A default-posture alert has no Resource: its Data says what was denied, so the
    100 KiB reach the headline, the title fields and the facts."""
    alert = fixture("kubearmor/alerts/host-syscall-default-posture.json")
    assert "Resource" not in alert
    alert["Data"] = ("syscall=SYS_SETGID " + "D" * DATA_SIZE)[:DATA_SIZE]
    return alert


def kubearmor_200_tags() -> dict[str, Any]:
    alert = kubearmor()
    alert["Tags"] = ",".join(tag(i) for i in range(TAG_COUNT))
    alert["ATags"] = [tag(i) for i in range(TAG_COUNT)]
    return alert


def kubearmor_200_tags_string_only() -> dict[str, Any]:
    alert = kubearmor_200_tags()
    del alert["ATags"]
    return alert


def falco_200_tags() -> dict[str, Any]:
    alert = falco()
    alert["tags"] = [tag(i) for i in range(TAG_COUNT)]
    return alert


def falco_200_output_fields() -> dict[str, Any]:
    alert = falco()
    alert["output_fields"].update({f"custom.field{i:03d}": f"value-{i:03d}" for i in range(200)})
    return alert


ALERTS = [
    pytest.param(data_100k, id="data-100k"),
    pytest.param(data_100k_wide, id="data-100k-wide-chars"),
    pytest.param(data_100k_sparse, id="data-100k-no-resource"),
    pytest.param(kubearmor_200_tags, id="kubearmor-200-tags"),
    pytest.param(kubearmor_200_tags_string_only, id="kubearmor-200-Tags-string"),
    pytest.param(falco_200_tags, id="falco-200-tags"),
    pytest.param(falco_200_output_fields, id="falco-200-output-fields"),
]


def needles(alert: dict[str, Any]) -> list[str]:
    """What must reach the destination whole, or be visibly cut: the long Data, every
    tag, every output field."""
    found = [alert["Data"]] if len(alert.get("Data", "")) >= DATA_SIZE // 3 else []
    if tag(0) in json.dumps(alert):
        found += [tag(i) for i in range(TAG_COUNT)]
    found += [f"value-{i:03d}" for i in range(200)
              if f"custom.field{i:03d}" in alert.get("output_fields", {})]
    return found


# --- What each destination accepts, as its documentation states it ---------------------


def events(body: bytes) -> Iterator[Any]:
    """The JSON values of a body: one, or several one after another (Splunk HEC batches)."""
    text, decoder, at = body.decode(), json.JSONDecoder(), 0
    while at < len(text):
        value, end = decoder.raw_decode(text, at)
        yield value
        at = end
        while at < len(text) and text[at].isspace():
            at += 1


def utf8_json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def elastic_mapping(doc: dict[str, Any]) -> tuple[int, int, set[str]]:
    """(fields dynamic mapping creates, depth, names that are both a value and an object)
    for one document: dotted names expand into objects, strings map as text + keyword."""
    objects: set[tuple[str, ...]] = set()
    values: dict[tuple[str, ...], bool] = {}

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item, path)
        elif isinstance(value, dict):
            if path:
                objects.add(path)
            for key, item in value.items():
                names = tuple(key.split("."))
                objects.update(path + names[:i] for i in range(1, len(names)))
                walk(item, path + names)
        elif value is not None:
            values[path] = values.get(path, False) or isinstance(value, str)

    walk(doc, ())
    fields = len(objects) + len(values) + sum(values.values())
    depth = max(len(p) for p in (*objects, *values))
    return fields, depth, {".".join(p) for p in objects & set(values)}


def assert_accepted(template: str, options: dict[str, Any], sent: bytes, body: bytes) -> None:
    """`body` (rendered from `sent`) is within the destination's documented limits."""
    if template == "raw":
        assert body == sent  # no limits but the server's: the alert as received
        return
    if template == "custom":
        # alertwire's own output limit; beyond it, the visible fallback: the alert as
        # received, wrapped with the reason.
        if len(body) > 256 * 1024:
            fallback = json.loads(body)
            assert "larger than the limit of 262144 bytes" in fallback["alertwire_template_error"]
            assert fallback["alert"] == json.loads(sent)
        return
    if template == "splunk_hec":
        assert len(body) <= 1_000_000  # HEC max_content_length (older default)
        for event in events(body):
            assert utf8_json_size(event["event"]) <= 10_000  # props.conf TRUNCATE default
            assert all(isinstance(v, str) for v in event.get("fields", {}).values())
        return
    value = json.loads(body)
    if template == "slack":
        assert_within_slack_limits(value)
        assert len(value["text"]) <= 40_000
    elif template == "teams":
        assert_valid_teams_message(value, len(body))
        assert len(body) <= 28_000  # "The message size limit is 28 KB"
    elif template == "jira":
        assert_issue(value, options.get("api_version", 2))
    elif template == "servicenow":
        assert_incident(value)
    elif template == "pagerduty":
        assert_event(value, len(body))  # summary ≤ 1,024, dedup_key ≤ 255, ≤ 512 KB
    elif template == "github_dispatch":
        assert set(value) == {"event_type", "client_payload"}
        assert len(value["client_payload"]) <= 10
        assert len(json.dumps(value, separators=(",", ":"))) < 64_000
    elif template == "elastic":
        assert len(body) <= 1_000_000
        assert all(len(s.encode()) <= 32_766 for s in strings(value))  # Lucene's longest term
        fields, depth, clashes = elastic_mapping(value)
        assert fields <= 1000 and depth <= 20 and not clashes
    else:  # pragma: no cover - every template is listed above
        raise AssertionError(template)


def text_of(body: bytes) -> str:
    """Every string a body carries, unescaped (JSON strings, JSON text nested in them, and
    Slack's `&amp;` entities): where the needles and cut markers are looked for."""
    found: list[str] = []
    for value in events(body):
        for text in strings(value):
            found.append(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
            if text.startswith(("{", "[")):
                try:
                    found += strings(json.loads(text))
                except ValueError:
                    pass
    return "\n".join(found)


def render_body(template: str, options: dict[str, Any], sent: bytes) -> bytes:
    """The body sent. Only the custom template may fall back, and only for its output
    limit (checked by `assert_accepted`)."""
    rendered = render(template, options, sent)
    if template != "custom" or rendered.error is not None:
        assert rendered.error is None or "larger than the limit" in rendered.error
    return rendered.body


def alert_lines(text: str) -> str:
    """A summary's digest lines (`• KubeArmor Block: … in wordpress-mysql/pod-007 …`)."""
    return "\n".join(ln for ln in text.splitlines() if ln.startswith("• "))


# --- Oversize alerts ---------------------------------------------------------------------


@pytest.mark.parametrize("make", ALERTS)
@pytest.mark.parametrize(("template", "options"), CONFIGS)
def test_oversize_alerts_fit_and_cut_visibly(
    template: str, options: dict[str, Any], make: Callable[[], dict[str, Any]]
) -> None:
    """A 100 KiB Data, 200 tags (KubeArmor `Tags` and `ATags`, Falco `tags`) or 200 Falco
    output fields: the body is within the destination's limits, and each of them arrives
    whole or the body says that something was cut."""
    alert = make()
    sent = json.dumps(alert).encode()
    body = render_body(template, options, sent)
    assert_accepted(template, options, sent, body)
    text = text_of(body)
    missing = [n for n in needles(alert) if n not in text]
    if missing:
        assert CUT.search(text), f"{len(missing)} values left out without a visible cut"


@pytest.mark.parametrize("template", ["slack", "teams", "jira", "servicenow"])
def test_tags_beyond_a_fact_are_counted_not_cut_midway(template: str) -> None:
    """Where the tags are a fact of the message, the ones that do not fit are counted
    (`… and 180 more tags`) and every tag shown is whole."""
    options = {"project_key": "SEC", "issue_type": "Bug"} if template == "jira" else {}
    text = text_of(render_body(template, options,
                               json.dumps(kubearmor_200_tags()).encode()))
    (line,) = [ln for ln in text.splitlines() if "more tags" in ln]
    counted = re.search(r"… and (\d+) more tags", line)
    assert counted is not None
    shown = re.findall(r"MITRE_T\d{4}_tag(?=,| …)", line)
    assert shown and len(shown) + int(counted.group(1)) == TAG_COUNT


@pytest.mark.parametrize(("template", "options"), [
    pytest.param("github_dispatch", {}, id="default"),
    pytest.param("github_dispatch", {"fields": GITHUB_FIELDS}, id="ten-fields"),
])
@pytest.mark.parametrize("make", [*ALERTS, pytest.param(lambda: {
    f"field{i}": i for i in range(50)}, id="50-top-level-fields")])
def test_github_client_payload_never_has_more_than_10_properties(
    template: str, options: dict[str, Any], make: Callable[[], dict[str, Any]]
) -> None:
    """GitHub refuses a client_payload of more than 10 top-level properties: never sent,
    whatever the alert holds, with or without `fields`."""
    event = json.loads(render_body(template, options, json.dumps(make()).encode()))
    assert 0 < len(event["client_payload"]) <= 10


# --- Digests of 500 alerts ---------------------------------------------------------------


def storm(count: int = 500) -> list[DigestAlert]:
    """`count` distinct alerts, KubeArmor and Falco by turns, each named by its pod or host
    (`pod-007`, `node-008`), which its line in a digest shows; every tenth KubeArmor alert
    has a 100 KiB Resource, which must not crowd the others out."""
    alerts = []
    for i in range(count):
        if i % 2:
            alert = falco()
            alert["hostname"] = f"node-{i:03d}"
        else:
            alert = kubearmor()
            alert["PodName"] = f"pod-{i:03d}"
            if i % 20 == 0:
                alert["Resource"] = "/data/" + "r" * DATA_SIZE
        alerts.append(DigestAlert(f"alr_{i:03d}", 1_700_000_000 + i, "kubearmor", alert))
    return alerts


def name_of(item: dict[str, Any]) -> str:
    alert = item["alert"]
    return str(alert.get("PodName") or alert["hostname"])


PARTS = build_digest_parts("Blocked in prod", "daily", "UTC", 1_699_999_000, 1_700_086_400,
                           storm())


@pytest.mark.parametrize(("template", "options"), CONFIGS)
def test_a_500_alert_digest_is_sent_as_10_parts_that_list_every_alert(
    template: str, options: dict[str, Any]
) -> None:
    """Each of the 10 parts is within the destination's limits and says which part it is;
    a template that summarises lists each alert of its part or counts the ones it cannot
    show; the others carry each alert of the part (or cut visibly). Over the parts, every
    alert is there exactly once."""
    assert len(PARTS) == 10
    seen: list[str] = []
    for part in PARTS:
        k = part["part"]["index"]
        sent = json.dumps(part).encode()
        body = render_body(template, options, sent)
        assert_accepted(template, options, sent, body)
        text = text_of(body)
        if template not in {"raw", "custom"}:
            assert f"part {k} of 10" in text
        names = [name_of(item) for item in part["alerts"]]
        listed = alert_lines(text) if template in SUMMARISING else text
        shown = [n for n in names if n in listed]
        if template in SUMMARISING:
            counted = MORE_ALERTS.search(text)
            assert len(shown) + (int(counted.group(1)) if counted else 0) == len(names)
            if template != "servicenow":  # 4,000 characters cannot list 50 alerts
                assert shown == names, f"{len(names) - len(shown)} alerts not listed"
        elif len(shown) < len(names):
            assert CUT.search(text)
        seen += [item["id"] for item in part["alerts"]]
    assert sorted(seen) == [f"alr_{i:03d}" for i in range(500)]


@pytest.mark.parametrize(("template", "options"), CONFIGS)
def test_a_digest_listing_500_alerts_at_once_still_fits(
    template: str, options: dict[str, Any]
) -> None:
    """A digest payload that lists 500 alerts in one message (alertwire sends parts, but a
    test payload may be anything): within the limits, and the alerts a summary does not
    list are counted."""
    digest = build_digest("Blocked in prod", "daily", "UTC", 1_699_999_000, 1_700_086_400,
                          storm(), cap=500)
    sent = json.dumps(digest).encode()
    body = render_body(template, options, sent)
    assert_accepted(template, options, sent, body)
    text = text_of(body)
    listed = alert_lines(text) if template in SUMMARISING else text
    shown = [name_of(item) for item in digest["alerts"] if name_of(item) in listed]
    if template in SUMMARISING:
        counted = MORE_ALERTS.findall(text)
        assert counted and len(shown) + sum(int(n) for n in counted) == 500
    elif len(shown) < 500:
        assert CUT.search(text)


def test_the_last_part_of_a_storm_says_how_many_no_part_lists() -> None:
    """Beyond 20 parts the oldest alerts are in no message: the last part says so."""
    parts = build_digest_parts("Storm", "daily", "UTC", 0.0, 86400.0, storm(1030))
    assert len(parts) == 20 and parts[-1]["alerts_left_out"] == 30
    summary = summarize(json.dumps(parts[-1]).encode())
    assert summary.title.startswith("alertwire digest part 20 of 20: Storm, 1030 alerts")
    assert "… and 30 more alerts of this period not listed in any message" in summary.text()
    slack = text_of(render_body("slack", {}, json.dumps(parts[-1]).encode()))
    assert "30 more alerts of this period not listed" in slack


@pytest.mark.parametrize("template", ["github_dispatch"])
def test_github_fields_of_a_digest_are_sent_per_alert(template: str) -> None:
    """With `fields`, a digest's client_payload keeps its part, counts and alerts, each
    alert reduced to the chosen fields, in at most 10 properties."""
    event = json.loads(render_body(template, {"fields": ["PodName", "hostname"]},
                                   json.dumps(PARTS[2]).encode()))
    payload = event["client_payload"]
    assert len(payload) <= 10 and payload["part"] == {"index": 3, "count": 10}
    assert payload["total"] == 500 and "part 3 of 10" in payload["summary"]
    assert [a["id"] for a in payload["alerts"]] == [a["id"] for a in PARTS[2]["alerts"]]
    assert [a["fields"]["PodName"] or a["fields"]["hostname"] for a in payload["alerts"]] \
        == [name_of(a) for a in PARTS[2]["alerts"]]


def test_splunk_sends_a_digest_as_one_event_per_alert() -> None:
    """HEC takes several events in one request: the digest's own (counts, the ids of its
    alerts), then each alert as received, each within TRUNCATE and searchable."""
    body = render_body("splunk_hec", {"index": "sec"}, json.dumps(PARTS[0]).encode())
    head, *alerts = list(events(body))
    assert head["fields"]["alertwire_source"] == "digest"
    assert "part 1 of 10" in head["fields"]["alertwire_summary"]
    assert head["event"]["alert_ids"] == [a["id"] for a in PARTS[0]["alerts"]]
    assert "alerts" not in head["event"] and head["event"]["total"] == 500
    for event, item in zip(alerts, PARTS[0]["alerts"], strict=True):
        # Whole, or (the 100 KiB Resources) cut visibly to fit.
        assert event["event"] == item["alert"] or "more characters" in event["event"]["Resource"]
    assert [e["fields"]["alertwire_alert_id"] for e in alerts] == head["event"]["alert_ids"]
    assert all(e["index"] == "sec" and e["fields"]["alertwire_digest"].startswith(
        "alertwire digest part 1 of 10") for e in alerts)


# --- The custom template's own limits -----------------------------------------------------


def test_custom_output_beyond_256_kib_is_refused_by_the_preview_and_falls_back() -> None:
    """The custom template cannot know its destination; alertwire's own output limit holds:
    a 300 KiB output is refused in a preview and, at delivery, replaced by the alert as
    received with the reason, never by nothing."""
    alert = data_100k()
    alert["Data"] = "D" * 300 * 1024
    sent = json.dumps(alert).encode()
    with pytest.raises(TemplateRenderError, match="larger than the limit of 262144 bytes"):
        render("custom", {"template": CUSTOM}, sent, strict=True)
    fallback = render("custom", {"template": CUSTOM}, sent)
    assert fallback.error is not None and "262144" in fallback.error
    assert json.loads(fallback.body)["alert"] == alert
    # Within the limit, a 100 KiB Data goes whole: the template decides what to cut.
    body = render_body("custom", {"template": CUSTOM}, json.dumps(data_100k()).encode())
    assert json.loads(body)["alert"] == data_100k()
