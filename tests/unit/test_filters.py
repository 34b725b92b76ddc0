"""The alert filter language (SPEC §4): parsing, matching real alerts, errors, properties."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertwire.domain.filters import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Comparison,
    Filter,
    FilterError,
    Node,
    Not,
    Or,
    Value,
    lookup,
    parse,
)
from tests.fixtures import FIXTURES

KUBEARMOR = FIXTURES / "kubearmor" / "alerts"
FALCO = FIXTURES / "falco"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def kubearmor(name: str) -> dict[str, Any]:
    return load(KUBEARMOR / f"{name}.json")


def falco(name: str) -> dict[str, Any]:
    return load(FALCO / f"{name}.json")


ALL_ALERTS = {p.stem: load(p) for p in [*sorted(KUBEARMOR.glob("*.json")), *sorted(FALCO.glob("*.json"))]}


def matching(expression: str) -> set[str]:
    """Names of the fixture alerts the expression matches."""
    compiled = parse(expression)
    return {name for name, alert in ALL_ALERTS.items() if compiled.matches(alert)}


def m(expression: str, alert: dict[str, Any]) -> bool:
    return parse(expression).matches(alert)


# ------------------------------------------------------------------------ the spec's examples

def test_fixtures_are_present() -> None:
    """The shared fixtures sit beside the repository, where the tests look for them."""
    assert "fim-touch-block-saas" in ALL_ALERTS
    assert "falco-write-below-binary-dir" in ALL_ALERTS
    assert len(ALL_ALERTS) >= 10


def test_action_equals_block() -> None:
    """`Action = Block` matches the blocked alerts and not the audited ones."""
    assert m("Action = Block", kubearmor("fim-touch-block-saas"))
    assert not m("Action = Block", kubearmor("container-network-audit"))
    assert matching("Action = Block") == {
        "container-file-block", "container-process-block", "fim-touch-block-saas",
        "host-process-block-sparse", "host-process-block", "host-syscall-default-posture",
    }


def test_and_with_numeric_severity_on_string_field() -> None:
    """`Severity >= 5` compares numerically although KubeArmor sends Severity as a string."""
    assert kubearmor("container-process-block")["Severity"] == "5"
    assert m("Action = Block AND Severity >= 5", kubearmor("container-process-block"))
    assert not m("Action = Block AND Severity >= 5", kubearmor("fim-touch-block-saas"))
    assert matching("Action = Block AND Severity >= 5") == {"container-process-block", "host-process-block"}
    assert matching("Severity >= 5") == {"container-process-block", "host-process-block",
                                          "container-network-audit"}


def test_grouped_or_with_not() -> None:
    """Parentheses group an OR under AND; NOT excludes a namespace."""
    expression = "(Operation = File OR Operation = Process) AND NOT NamespaceName = kube-system"
    assert matching(expression) == {
        "container-file-block", "container-process-block", "fim-touch-block-saas",
        "host-process-block-sparse", "host-process-block",
    }
    kube_system = dict(kubearmor("container-file-block"), NamespaceName="kube-system")
    assert not m(expression, kube_system)


def test_contains_is_case_insensitive() -> None:
    """`Tags ~ mitre_t1565` finds MITRE_T1565 inside the comma-separated Tags string."""
    assert m("Tags ~ MITRE_T1565", kubearmor("fim-touch-block-saas"))
    assert m("Tags ~ mitre_t1565", kubearmor("fim-touch-block-saas"))
    assert m("tags ~ Mitre_T1565", kubearmor("fim-touch-block-saas"))
    assert matching("Tags ~ mitre_t1565") == {"container-file-block", "fim-touch-block-saas"}


def test_not_contains() -> None:
    """`!~` is the negation of `~` on present fields."""
    assert not m("Tags !~ mitre_t1565", kubearmor("fim-touch-block-saas"))
    assert m("Tags !~ mitre_t1565", kubearmor("container-process-block"))


def test_contains_on_a_list_matches_any_element() -> None:
    """`~` against a list (KubeArmor ATags, Falco tags) matches when any element contains it."""
    assert m("ATags ~ t1565_data", kubearmor("fim-touch-block-saas"))
    assert not m("ATags !~ t1565_data", kubearmor("fim-touch-block-saas"))
    assert m("tags ~ EXAM", falco("falco-test-event"))
    assert not m('tags ~ "test,example"', falco("falco-test-event"))
    assert m("tags !~ nothing", falco("falco-test-event"))
    assert not m("tags ~ x", {"tags": []})
    assert m("tags !~ x", {"tags": []})


def test_in_list() -> None:
    """`IN (a, b)` is true when `=` holds for any listed value."""
    expression = "PolicyName IN (harden-mysql-file-integrity-monitoring, ksp-vault-network)"
    assert matching(expression) == {"fim-touch-block-saas", "container-network-audit"}
    assert matching("Severity IN (3, 8)") == {"host-syscall-audit-unlink", "container-network-audit"}
    assert matching("PolicyName in (sleep-deny)") == {"host-process-block"}
    assert matching('PolicyName IN ("a", sleep-deny ,"audit-all-unlink")') == {
        "host-process-block", "host-syscall-audit-unlink"}


def test_dotted_path_reaches_nested_objects() -> None:
    """`Owner.Name = mysql` walks into the Owner object."""
    assert m("Owner.Name = mysql", kubearmor("fim-touch-block-saas"))
    assert m("owner.name = mysql", kubearmor("fim-touch-block-saas"))
    assert matching("Owner.Name = mysql") == {"fim-touch-block-saas"}
    both = "Owner.Ref = Deployment AND Owner.Namespace = wordpress-mysql"
    assert matching(both) == {"fim-touch-block-saas"}


def test_quoted_segment_holds_a_dot() -> None:
    """`output_fields."fd.name"` is key output_fields, then key `fd.name` (Falco)."""
    alert = falco("falco-write-below-binary-dir")
    assert m('output_fields."fd.name" = /bin/hack', alert)
    assert not m("output_fields.fd.name = /bin/hack", alert)
    assert m('output_fields."proc.cmdline" = "touch /bin/hack"', alert)
    assert m('output_fields."evt.time" > 1507591916746609045', alert)
    assert not m('output_fields."evt.time" > 1507591916746609046', alert)
    assert matching('"output_fields"."proc.name" = falcosidekick') == {"falco-test-event"}


def test_bare_values_with_punctuation() -> None:
    """Bare values may hold '-', '/', '_', '=', '.' and a leading minus sign."""
    assert m("ProcessName = /bin/touch", kubearmor("fim-touch-block-saas"))
    assert m("Data = syscall=SYS_EXECVE", kubearmor("host-process-block"))
    assert m("NamespaceName = wordpress-mysql", kubearmor("container-file-block"))
    assert m("Offset > -1.5", {"Offset": -1})
    assert not m("Offset > -1.5", {"Offset": "-2"})
    assert m("Action=Block", kubearmor("host-process-block"))
    assert m("Severity>=5", kubearmor("host-process-block"))
    assert m("Action!=Audit", kubearmor("host-process-block"))


def test_quoted_values_hold_spaces_and_escapes() -> None:
    """Double-quoted values hold spaces, parentheses, `\\"` and `\\\\`."""
    assert m('Action = "Audit (Block)"', {"Action": "Audit (Block)"})
    assert m('Result = "Permission denied"', kubearmor("host-process-block"))
    assert m(r'Msg = "say \"hi\""', {"Msg": 'say "hi"'})
    assert m(r'Path = "C:\\temp"', {"Path": "C:\\temp"})
    assert m(r'Path = "C:\temp"', {"Path": "C:\\temp"})  # other backslashes stand for themselves
    assert m('Empty = ""', {"Empty": ""})


def test_keywords_are_case_insensitive() -> None:
    """AND, OR, NOT and IN are keywords in any case."""
    alert = kubearmor("container-process-block")
    assert m("action = block or Action = Block", alert)
    assert m("Action = Block and not Operation = File", alert)
    assert m("Action = Block AnD NoT Operation = File", alert)
    assert m("Operation iN (File, Process)", alert)


def test_field_names_match_case_insensitively_preferring_exact() -> None:
    """Field names ignore case; an exact key wins over a case-insensitive one."""
    alert = {"action": "lower", "Action": "exact", "ACTION": "upper"}
    assert m("Action = exact", alert)
    assert m("ACTION = upper", alert)
    assert m("aCtIoN = lower", alert)  # no exact key: the first case-insensitive one
    assert lookup(alert, ["aCtIoN"]) == (True, "lower")


def test_lookup() -> None:
    """lookup walks nested mappings and reports missing keys and non-mapping steps."""
    alert = {"Owner": {"Name": "mysql"}, "S": "x", "N": None, "L": [1]}
    assert lookup(alert, ["owner", "name"]) == (True, "mysql")
    assert lookup(alert, ["Owner"]) == (True, {"Name": "mysql"})
    assert lookup(alert, ["Owner", "Missing"]) == (False, None)
    assert lookup(alert, ["S", "x"]) == (False, None)
    assert lookup(alert, ["N", "x"]) == (False, None)
    assert lookup(alert, ["L", "0"]) == (False, None)
    assert lookup(alert, ["N"]) == (True, None)
    assert lookup(alert, []) == (True, alert)


# ------------------------------------------------------------------------------- precedence

def test_and_binds_tighter_than_or() -> None:
    """`a OR b AND c` parses as `a OR (b AND c)`."""
    tree = parse("a = 1 OR b = 1 AND c = 1").root
    assert isinstance(tree, Or)
    assert isinstance(tree.operands[1], And)
    assert m("a = 1 OR b = 1 AND c = 1", {"a": 1, "b": 0, "c": 0})
    assert not m("(a = 1 OR b = 1) AND c = 1", {"a": 1, "b": 0, "c": 0})


def test_not_binds_tighter_than_and() -> None:
    """`NOT a AND b` parses as `(NOT a) AND b`."""
    tree = parse("NOT a = 1 AND b = 1").root
    assert isinstance(tree, And)
    assert isinstance(tree.operands[0], Not)
    assert not m("NOT a = 1 AND b = 1", {"a": 0, "b": 0})
    assert m("NOT (a = 1 AND b = 1)", {"a": 0, "b": 0})


def test_chains_are_flat() -> None:
    """A chain of ANDs (or ORs) is one node, however long."""
    tree = parse(" AND ".join("a=1" for _ in range(400))).root
    assert isinstance(tree, And)
    assert len(tree.operands) == 400


def test_parse_tree_shape() -> None:
    """The AST holds the path, operator and literal values as written."""
    tree = parse('Owner."x.y" IN (a, "b c")').root
    assert tree == Comparison(("Owner", "x.y"), "IN", (Value("a"), Value("b c")))
    assert Value("5").number == 5
    assert Value("-1.5").number == -1.5
    assert Value("1e3").number == 1000.0
    assert Value("Block").number is None
    assert Value("inf").number is None
    assert Value("1e999").number is None
    assert Value("Block").folded == "block"


# ---------------------------------------------------------------------- comparison semantics

def test_numbers_compare_numerically_when_both_sides_are_numeric() -> None:
    """"10" > 9 numerically, and equal numbers in different spellings are equal."""
    assert m("V > 9", {"V": "10"})
    assert m("V > 9", {"V": 10})
    assert m("V > 9.5", {"V": 10.0})
    assert m("V = 5", {"V": "5.0"})
    assert m("V = 5.0", {"V": 5})
    assert m("V = 1e1", {"V": "10"})
    assert m("V <= 10", {"V": "10"})
    assert not m("V < 10", {"V": "10"})
    assert m("V != 6", {"V": "5"})
    assert m('V = "5"', {"V": 5})  # quoting a number does not make it a string


def test_strings_compare_lexicographically_otherwise() -> None:
    """Non-numeric pairs compare as exact strings: "abc" < "abd", "10" vs "9x" as text."""
    assert m("V < abd", {"V": "abc"})
    assert not m("V > abd", {"V": "abc"})
    assert m("V >= abc", {"V": "abc"})
    assert m("V < 9x", {"V": "10"})  # "10" < "9x" as strings
    assert m("V > 5", {"V": "Block"})  # numeric literal, non-numeric value: strings
    assert not m("V = block", {"V": "Block"})  # = is case-sensitive


def test_non_string_values_compare_as_json_text() -> None:
    """Booleans are true/false, lists and objects compact JSON, numbers their JSON text."""
    assert m("B = true", {"B": True})
    assert not m("B = 1", {"B": True})
    assert m("B != True", {"B": True})
    assert m('L = "[\\"a\\",1]"', {"L": ["a", 1]})
    assert m('D = "{\\"k\\":[1,2]}"', {"D": {"k": [1, 2]}})
    assert m("D ~ K", {"D": {"k": [1, 2]}})
    assert m("F ~ 1.5", {"F": 1.5})
    assert m("S ~ 5", {"S": 5})
    assert m("N = NaN", {"N": float("nan")})
    assert m("N = Infinity", {"N": float("inf")})  # not finite: compared as its JSON text


def test_missing_fields_match_only_negative_operators() -> None:
    """A missing field fails every operator but `!=` and `!~`; NOT is the exact complement."""
    alerts: list[dict[str, Any]] = [{}, {"Other": 1}, {"Missing": None}, {"Owner": "flat"}, {"Owner": None}]
    for alert in alerts:
        for field in ("Missing", "Owner.Name"):
            for op in ("=", "~", "<", "<=", ">", ">="):
                assert not m(f"{field} {op} x", alert)
                assert m(f"NOT {field} {op} x", alert)
            assert not m(f"{field} IN (x, y)", alert)
            assert m(f"NOT {field} IN (x, y)", alert)
            assert m(f"{field} != x", alert)
            assert m(f"{field} !~ x", alert)
            assert not m(f"NOT {field} != x", alert)


def test_present_fields_negations() -> None:
    """On a present field, `!=` and `!~` are the negations of `=` and `~`."""
    alert = kubearmor("host-process-block")
    assert m("Action != Audit", alert)
    assert not m("Action != Block", alert)
    assert m("Action !~ aud", alert)
    assert not m("Action !~ LOCK", alert)


# ------------------------------------------------------------------------------------ errors

@pytest.mark.parametrize(
    ("text", "position", "expected", "found"),
    [
        ("Action =", 8, "a value", "end of expression"),
        ("Action Block", 7, "an operator (=, !=, ~, !~, <, <=, >, >=, IN)", "'Block'"),
        ("(Action = Block", 15, "')'", "end of expression"),
        ("Action = Block AND", 18, "a field name", "end of expression"),
        ("= Block", 0, "a field name", "'='"),
        ("Action IN (a, b", 15, "',' or ')'", "end of expression"),
        ("Action IN (a, )", 14, "a value", "')'"),
        ("Action IN ()", 11, "a value", "')'"),
        ("Action IN a", 10, "'('", "'a'"),
        ('Action = "Block', 15, "a closing '\"'", "end of expression"),
        ('"Action = Block', 15, "a closing '\"'", "end of expression"),
        ("Action = Block)", 14, "AND, OR or end of expression", "')'"),
        (")", 0, "a field name", "')'"),
        ("", 0, "a field name", "end of expression"),
        ("   ", 3, "a field name", "end of expression"),
        ("Action = Block AND AND", 19, "a field name", "'AND'"),
        ("Action = Block OR", 17, "a field name", "end of expression"),
        ("NOT", 3, "a field name", "end of expression"),
        ("Action = Audit (Block)", 15, "AND, OR or end of expression", "'('"),
        ("Action = (Block)", 9, "a value", "'('"),
        ("Action = Block foo", 15, "AND, OR or end of expression", "'foo'"),
        ("Owner. = x", 6, "a field name", "a space"),
        ("Owner . Name = x", 6, "an operator (=, !=, ~, !~, <, <=, >, >=, IN)", "'.'"),
        ("Action == Block", 7, "an operator (=, !=, ~, !~, <, <=, >, >=, IN)", "'=='"),
        ("Action =! Block", 10, "AND, OR or end of expression", "'Block'"),
    ],
)
def test_errors_say_where_and_what(text: str, position: int, expected: str, found: str) -> None:
    """Each malformed expression fails at the exact offset, naming what was expected and found."""
    with pytest.raises(FilterError) as caught:
        parse(text)
    error = caught.value
    assert (error.position, error.expected, error.found) == (position, expected, found)
    assert str(error).startswith(f"at position {position}: expected {expected}, found {found}")
    assert isinstance(error, ValueError)


def test_error_message_examples() -> None:
    """The message reads `at position N: expected X, found Y`."""
    with pytest.raises(FilterError, match=r"^at position 17: expected a value, found end of expression$"):
        parse("PolicyName IN (a,")
    with pytest.raises(FilterError, match=r"^at position 8: expected a value, found end of expression$"):
        parse("Action =")
    with pytest.raises(FilterError, match=r"found 'AND'"):
        parse("Action = Block OR AND x = 1")


def test_unterminated_quote_mentions_where_it_opened() -> None:
    """An unterminated string is reported at the end, noting where the string opened."""
    with pytest.raises(FilterError, match=r"string opened at position 9"):
        parse('Action = "Block AND x = 1')


def test_keyword_as_field_name_needs_quotes() -> None:
    """A field called like a keyword must be quoted, and then it works."""
    with pytest.raises(FilterError) as caught:
        parse("in = 1")
    assert caught.value.expected == "a field name"
    assert m('"in" = 1', {"in": 1})
    assert m('"NOT" = 1 AND "and".x = 2', {"NOT": 1, "and": {"x": 2}})


def test_length_limit() -> None:
    """Expressions over 4096 characters are refused; 4096 exactly is fine."""
    exact = "A = " + "x" * (MAX_LENGTH - 4)
    assert parse(exact).matches({"A": "x" * (MAX_LENGTH - 4)})
    with pytest.raises(FilterError) as caught:
        parse(exact + "x")
    assert caught.value.position == MAX_LENGTH


def test_depth_limit_is_an_error_not_recursion() -> None:
    """64 levels of parentheses or NOTs parse; 65 raise FilterError, never RecursionError."""
    assert parse("(" * MAX_DEPTH + "a = 1" + ")" * MAX_DEPTH).matches({"a": 1})
    assert parse("NOT " * MAX_DEPTH + "a = 1").matches({"a": 1})  # an even number of NOTs
    with pytest.raises(FilterError) as caught:
        parse("(" * (MAX_DEPTH + 1) + "a = 1" + ")" * (MAX_DEPTH + 1))
    assert caught.value.position == MAX_DEPTH
    with pytest.raises(FilterError):
        parse("NOT " * (MAX_DEPTH + 1) + "a = 1")
    with pytest.raises(FilterError):
        parse("(" * 2000)
    with pytest.raises(FilterError):
        parse("NOT (" * 800)


def test_error_pickles() -> None:
    """FilterError survives pickling with its position and expectation."""
    with pytest.raises(FilterError) as caught:
        parse("Action =")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.position, copy.expected, str(copy)) == (8, "a value", str(caught.value))


# ------------------------------------------------------------------------ canonical rendering

def test_filter_keeps_source_and_renders_canonically() -> None:
    """`.text` is the source; `str()` normalises spacing, keyword case and quoting."""
    source = 'action=block and ( not Owner."x y"~a OR Sev in (1,"a b" ) )'
    compiled = parse(source)
    assert isinstance(compiled, Filter)
    assert compiled.text == source
    assert str(compiled) == 'action = block AND (NOT Owner."x y" ~ a OR Sev IN (1, "a b"))'
    assert str(parse("NOT (a = 1 AND b = 2)")) == "NOT (a = 1 AND b = 2)"
    assert str(parse("a = 1 AND (b = 1 AND c = 1)")) == "a = 1 AND (b = 1 AND c = 1)"
    assert str(parse("(a = 1 OR b = 1) OR c = 1")) == "(a = 1 OR b = 1) OR c = 1"
    assert str(parse(r'v = "q\"\\"')) == r'v = "q\"\\"'
    assert str(parse('"in".x = ","')) == '"in".x = ","'


# -------------------------------------------------------------------------------- properties

TOKENS = [
    "Action", "Severity", "Owner.Name", 'output_fields."fd.name"', "Tags", ".", '"', '\\"', "\\",
    "=", "!=", "~", "!~", "<", "<=", ">", ">=", "==", "!", "IN", "in", "AND", "and", "OR", "or",
    "NOT", "not", "(", ")", ",", '"a b"', '"', "Block", "5", "-1.5", "kube-system", "/bin/touch",
    "", " ", "\t", "\n", "é", "\x00",
]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_raises_only_filter_error_on_any_text(text: str) -> None:
    """Arbitrary text either parses or raises FilterError with a position inside the text."""
    try:
        parse(text)
    except FilterError as error:
        assert 0 <= error.position <= len(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(["", " "])), max_size=25))
def test_parse_raises_only_filter_error_on_token_soup(parts: list[tuple[str, str]]) -> None:
    """Sequences of the language's own tokens parse or fail with FilterError, and whatever
    parses renders back to an equivalent tree."""
    text = "".join(token + space for token, space in parts)
    try:
        compiled = parse(text)
    except FilterError as error:
        assert 0 <= error.position <= len(text)
        assert re.match(r"^at position \d+: expected .+, found .+", str(error))
    else:
        assert parse(str(compiled)).root == compiled.root


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


FIELDS = ["Action", "action", "SEVERITY", "Severity", "Tags", "Owner.Name", "owner.name",
          'output_fields."fd.name"', "Missing", "Owner.Missing", "Flag", '"Action"']
OPERATORS = ["=", "!=", "~", "!~", "<", "<=", ">", ">="]
WORDS = ["Block", "Audit", "block", "5", "10", "9", "-1.5", "1e1", "abc", "abd", "true", "mysql",
         "/bin/hack", "MITRE", "kube-system"]

literals = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from([*WORDS, "a b", "", "x,y", "(p)", 'q"', "\\"]).map(quote),
    st.text(max_size=4).map(quote),
)
comparisons = st.one_of(
    st.builds(lambda f, o, v: f"{f} {o} {v}", st.sampled_from(FIELDS), st.sampled_from(OPERATORS), literals),
    st.builds(lambda f, k, vs: f"{f} {k} ({', '.join(vs)})", st.sampled_from(FIELDS),
              st.sampled_from(["IN", "in"]), st.lists(literals, min_size=1, max_size=3)),
)


def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, k, b: f"{a} {k} {b}",
                  children, st.sampled_from(["AND", "and", "OR", "or"]), children),
        st.builds(lambda k, a: f"{k} {a}", st.sampled_from(["NOT", "not"]), children),
        children.map(lambda a: f"({a})"),
    )


expressions = st.recursive(comparisons, combine, max_leaves=8)

leaves = st.one_of(
    st.sampled_from([*WORDS, "Audit (Block)", "MITRE_T1565", ""]),
    st.text(max_size=4),
    st.integers(-20, 20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
values = st.one_of(
    leaves, st.lists(leaves, max_size=3), st.dictionaries(st.sampled_from(["Name", "x"]), leaves)
)
alerts = st.fixed_dictionaries(
    {},
    optional={
        "Action": values, "action": values, "Severity": values, "Tags": values, "Flag": values,
        "Owner": st.one_of(values, st.fixed_dictionaries({}, optional={"Name": values, "name": values})),
        "output_fields": st.fixed_dictionaries({}, optional={"fd.name": values}),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, alerts)
def test_not_is_the_exact_complement(expression: str, alert: dict[str, Any]) -> None:
    """`NOT (e)` matches exactly the alerts `e` does not."""
    assert parse("NOT (" + expression + ")").matches(alert) == (not parse(expression).matches(alert))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, alerts)
def test_canonical_rendering_round_trips(expression: str, alert: dict[str, Any]) -> None:
    """`parse(str(parse(e)))` is the same tree and matches exactly the same alerts."""
    compiled = parse(expression)
    again = parse(str(compiled))
    assert again.root == compiled.root
    assert str(again) == str(compiled)
    assert again.matches(alert) == compiled.matches(alert)


nodes = st.recursive(
    st.builds(
        lambda path, op, values: Comparison(path, op, values if op == "IN" else values[:1]),
        st.lists(st.text(max_size=4), min_size=1, max_size=3).map(tuple),
        st.sampled_from([*OPERATORS, "IN"]),
        st.lists(st.text(max_size=5).map(Value), min_size=1, max_size=3).map(tuple),
    ),
    lambda children: st.one_of(
        children.map(Not),
        st.lists(children, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
        st.lists(children, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(nodes)
def test_any_tree_renders_to_text_that_parses_back_to_it(tree: Node) -> None:
    """Whatever the field names and values hold (keywords, dots, quotes, spaces, any Unicode),
    the rendering quotes them so that it parses back to the very same tree."""
    assert parse(str(tree)).root == tree
