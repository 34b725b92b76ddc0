"""The alert filter language (SPEC §4): a hand-written scanner, recursive-descent parser and AST.

    Action = Block AND Severity >= 5
    (Operation = File OR Operation = Process) AND NOT NamespaceName = kube-system
    Tags ~ MITRE_T1565
    PolicyName IN (harden-file-integrity-monitoring, ksp-file-path-block)
    output_fields."fd.name" = /bin/hack

Grammar (keywords AND, OR, NOT, IN are case-insensitive; NOT binds tighter than AND, AND than OR):

    expression := conjunction (OR conjunction)*
    conjunction := unary (AND unary)*
    unary := NOT unary | '(' expression ')' | comparison
    comparison := field op value | field IN '(' value (',' value)* ')'
    field := segment ('.' segment)*        segment: [letters digits _ -]+ or a quoted string
    op := '=' | '!=' | '~' | '!~' | '<' | '<=' | '>' | '>='
    value := quoted string (escapes \\" and \\\\) | bare word (up to whitespace, ')' or ',')

Lexing depends on what the parser expects next (a bare value like `syscall=SYS_OPEN` holds
characters that are operators elsewhere), so the scanner is driven by the parser. Everything a
comparison needs per alert (numeric literal values, case-folded strings and keys) is computed
once, at parse time. Pure: no I/O, and never `eval`.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "And",
    "Comparison",
    "Filter",
    "FilterError",
    "Node",
    "Not",
    "Operator",
    "Or",
    "Value",
    "lookup",
    "parse",
]

MAX_LENGTH = 4096
MAX_DEPTH = 64

Operator = Literal["=", "!=", "~", "!~", "<", "<=", ">", ">=", "IN"]

EXPECT_FIELD = "a field name"
EXPECT_OPERATOR = "an operator (=, !=, ~, !~, <, <=, >, >=, IN)"
EXPECT_VALUE = "a value"
EXPECT_CLOSE = "')'"
EXPECT_OPEN_LIST = "'('"
EXPECT_LIST_NEXT = "',' or ')'"
EXPECT_CONTINUATION = "AND, OR or end of expression"
EXPECT_QUOTE = "a closing '\"'"
EXPECT_SHALLOWER = f"at most {MAX_DEPTH} levels of nested parentheses and NOTs"
EXPECT_SHORTER = f"an expression of at most {MAX_LENGTH} characters"

_KEYWORDS = frozenset({"and", "or", "not", "in"})
_TWO_CHAR_OPERATORS: dict[str, Operator] = {"!=": "!=", "!~": "!~", "<=": "<=", ">=": ">="}
_ONE_CHAR_OPERATORS: dict[str, Operator] = {"=": "=", "~": "~", "<": "<", ">": ">"}
_OPERATOR_CHARS = "=!~<>"
_ORDERINGS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_NEGATIVE: frozenset[str] = frozenset({"!=", "!~"})
# A finite decimal number, as JSON writes them (plus a leading '+', '5.' and '.5').
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER_START = frozenset("+-.0123456789")
_FOUND_WIDTH = 30


class FilterError(ValueError):
    """A filter expression that does not parse: where, what was expected and what was found."""

    def __init__(self, position: int, expected: str, found: str, note: str | None = None) -> None:
        message = f"at position {position}: expected {expected}, found {found}"
        if note:
            message = f"{message} ({note})"
        super().__init__(message)
        self.position = position
        self.expected = expected
        self.found = found
        self.note = note

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.position, self.expected, self.found, self.note))


# ---------------------------------------------------------------------------- values & lookup

def _parse_number(text: str) -> int | float | None:
    """`text` as a finite number when it is written as one, else None."""
    if not text or text[0] not in _NUMBER_START or _NUMBER.fullmatch(text) is None:
        return None
    if _INTEGER.fullmatch(text):
        try:
            return int(text)
        except ValueError:  # more digits than int() converts; a float still orders it
            pass
    number = float(text)
    return number if math.isfinite(number) else None


def _as_number(value: Any) -> int | float | None:
    """An alert value as a number: finite ints and floats, and strings written as numbers."""
    if isinstance(value, str):
        return _parse_number(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return None


def _as_text(value: Any) -> str:
    """An alert value as the string the filter compares: JSON text for everything but strings."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)


def _walk(current: Any, keys: tuple[tuple[str, str], ...]) -> tuple[bool, Any]:
    for key, folded in keys:
        if type(current) is not dict and not isinstance(current, Mapping):
            return False, None
        if key in current:
            current = current[key]
            continue
        for candidate in current:
            if isinstance(candidate, str) and candidate.casefold() == folded:
                current = current[candidate]
                break
        else:
            return False, None
    return True, current


def lookup(alert: Mapping[str, Any], path: Sequence[str]) -> tuple[bool, Any]:
    """(found, value) at `path` in `alert`, walking nested mappings.

    Each key is matched exactly if the mapping has it, else against the first key equal to it
    ignoring case. Not found when a key is absent or the walk reaches a non-mapping (None
    included). A key present with a null value is found, with value None."""
    return _walk(alert, tuple((key, key.casefold()) for key in path))


# ---------------------------------------------------------------------------------------- AST

def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_segment_char(char: str) -> bool:
    return char.isalnum() or char in "_-"


def _render_segment(segment: str) -> str:
    bare = segment and all(_is_segment_char(c) for c in segment) and segment.casefold() not in _KEYWORDS
    return segment if bare else _quote(segment)


def _render_value(text: str) -> str:
    bare = text and not any(c.isspace() or c in '"(),\\' for c in text)
    return text if bare else _quote(text)


@dataclass(frozen=True, slots=True)
class Value:
    """A literal as written, with its number (when it is one) and case-folded text precomputed."""

    text: str
    number: int | float | None = field(init=False, repr=False)
    folded: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "number", _parse_number(self.text))
        object.__setattr__(self, "folded", self.text.casefold())

    def __str__(self) -> str:
        return _render_value(self.text)


@dataclass(frozen=True, slots=True)
class Comparison:
    """`path op value`, or `path IN (values...)`; one value unless the operator is IN."""

    path: tuple[str, ...]
    op: Operator
    values: tuple[Value, ...]
    _keys: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    _numeric: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", tuple((key, key.casefold()) for key in self.path))
        object.__setattr__(self, "_numeric", any(v.number is not None for v in self.values))

    def matches(self, alert: Mapping[str, Any]) -> bool:
        found, value = _walk(alert, self._keys)
        op = self.op
        if not found or value is None:
            return op in _NEGATIVE
        if op == "~" or op == "!~":
            needle = self.values[0].folded
            if isinstance(value, list | tuple):
                hit = any(needle in _as_text(item).casefold() for item in value)
            else:
                hit = needle in _as_text(value).casefold()
            return hit if op == "~" else not hit
        ordering = _ORDERINGS.get(op)
        if ordering is not None:
            literal = self.values[0]
            if literal.number is not None:
                number = _as_number(value)
                if number is not None:
                    return bool(ordering(number, literal.number))
            return bool(ordering(_as_text(value), literal.text))
        # =, != and IN
        number = _as_number(value) if self._numeric else None
        text: str | None = None
        hit = False
        for literal in self.values:
            if number is not None and literal.number is not None:
                hit = number == literal.number
            else:
                if text is None:
                    text = _as_text(value)
                hit = text == literal.text
            if hit:
                break
        return not hit if op == "!=" else hit

    def __str__(self) -> str:
        field_name = ".".join(_render_segment(segment) for segment in self.path)
        if self.op == "IN":
            return f"{field_name} IN ({', '.join(str(v) for v in self.values)})"
        return f"{field_name} {self.op} {self.values[0]}"


@dataclass(frozen=True, slots=True)
class Not:
    """The complement of its operand."""

    operand: Node

    def matches(self, alert: Mapping[str, Any]) -> bool:
        return not self.operand.matches(alert)

    def __str__(self) -> str:
        if isinstance(self.operand, And | Or):
            return f"NOT ({self.operand})"
        return f"NOT {self.operand}"


@dataclass(frozen=True, slots=True)
class And:
    """True when every operand is (two or more operands)."""

    operands: tuple[Node, ...]

    def matches(self, alert: Mapping[str, Any]) -> bool:
        for operand in self.operands:
            if not operand.matches(alert):
                return False
        return True

    def __str__(self) -> str:
        return " AND ".join(f"({o})" if isinstance(o, And | Or) else str(o) for o in self.operands)


@dataclass(frozen=True, slots=True)
class Or:
    """True when any operand is (two or more operands)."""

    operands: tuple[Node, ...]

    def matches(self, alert: Mapping[str, Any]) -> bool:
        for operand in self.operands:
            if operand.matches(alert):
                return True
        return False

    def __str__(self) -> str:
        return " OR ".join(f"({o})" if isinstance(o, Or) else str(o) for o in self.operands)


Node: TypeAlias = Comparison | Not | And | Or


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed filter: `text` is the source, `str()` a canonical rendering that parses back
    to the same tree."""

    text: str
    root: Node

    def matches(self, alert: Mapping[str, Any]) -> bool:
        return self.root.matches(alert)

    def __str__(self) -> str:
        return str(self.root)


# ------------------------------------------------------------------------------------ scanner

class _Scanner:
    """Reads the token the parser asks for at the current position, skipping whitespace."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos].isspace():
            pos += 1
        self.pos = pos

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def word_at(self, pos: int) -> str:
        """The run of segment characters (letters, digits, `_`, `-`) starting at `pos`."""
        end = pos
        while end < len(self.text) and _is_segment_char(self.text[end]):
            end += 1
        return self.text[pos:end]

    def keyword(self, name: str) -> bool:
        """Consume keyword `name` (case-insensitive) if it is next."""
        self.skip_space()
        word = self.word_at(self.pos)
        if word.casefold() == name:
            self.pos += len(word)
            return True
        return False

    def quoted(self) -> str:
        """A double-quoted string starting at the current position; `\\"` and `\\\\` escape,
        any other backslash stands for itself."""
        text, start = self.text, self.pos
        pos = start + 1
        parts: list[str] = []
        while True:
            end = len(text)
            quote, backslash = text.find('"', pos), text.find("\\", pos)
            if quote < 0:
                raise FilterError(end, EXPECT_QUOTE, "end of expression",
                                  f"the string opened at position {start}")
            if 0 <= backslash < quote:
                parts.append(text[pos:backslash])
                escaped = text[backslash + 1:backslash + 2]
                if escaped in ('"', "\\"):
                    parts.append(escaped)
                    pos = backslash + 2
                else:
                    parts.append("\\")
                    pos = backslash + 1
                continue
            parts.append(text[pos:quote])
            self.pos = quote + 1
            return "".join(parts)

    def bare_value(self) -> str:
        text, start = self.text, self.pos
        end = start
        while end < len(text) and not text[end].isspace() and text[end] not in "),":
            end += 1
        self.pos = end
        return text[start:end]

    def found(self, pos: int) -> str:
        """How the error message names what stands at `pos`."""
        text = self.text
        if pos >= len(text):
            return "end of expression"
        char = text[pos]
        if char.isspace():
            return "a space"
        if char in "(),.":
            return f"'{char}'"
        if char == '"':
            end = text.find('"', pos + 1)
            snippet = text[pos:end + 1] if end >= 0 else text[pos:]
        elif char in _OPERATOR_CHARS:
            end = pos
            while end < len(text) and text[end] in _OPERATOR_CHARS:
                end += 1
            snippet = text[pos:end]
        else:
            end = pos
            while end < len(text) and not text[end].isspace() and text[end] not in '(),"':
                end += 1
            snippet = text[pos:max(end, pos + 1)]
        if len(snippet) > _FOUND_WIDTH:
            snippet = snippet[:_FOUND_WIDTH - 1] + "…"
        return f"'{snippet}'"


# ------------------------------------------------------------------------------------- parser

class _Parser:
    def __init__(self, text: str) -> None:
        self.scan = _Scanner(text)
        self.bare_value_end = -1  # where the last unquoted value ended, for a hint on errors

    def fail(self, expected: str, pos: int | None = None, note: str | None = None) -> FilterError:
        where = self.scan.pos if pos is None else pos
        return FilterError(where, expected, self.scan.found(where), note)

    def continuation_note(self) -> str | None:
        """Hint for `Action = Audit (Block)`-style mistakes: an unquoted value met a space."""
        text = self.scan.text
        end = self.bare_value_end
        if 0 <= end < self.scan.pos and text[end:self.scan.pos].isspace():
            return "values holding spaces, parentheses or commas need double quotes"
        return None

    def expression(self, depth: int) -> Node:
        operands = [self.conjunction(depth)]
        while self.scan.keyword("or"):
            operands.append(self.conjunction(depth))
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self, depth: int) -> Node:
        operands = [self.unary(depth)]
        while self.scan.keyword("and"):
            operands.append(self.unary(depth))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self, depth: int) -> Node:
        scan = self.scan
        scan.skip_space()
        word = scan.word_at(scan.pos)
        keyword = word.casefold()
        if keyword == "not":
            if depth >= MAX_DEPTH:
                raise self.fail(EXPECT_SHALLOWER)
            scan.pos += len(word)
            return Not(self.unary(depth + 1))
        if keyword in _KEYWORDS:
            raise self.fail(EXPECT_FIELD, note=f'a field named {word} needs double quotes: "{word}"')
        if scan.peek() == "(":
            if depth >= MAX_DEPTH:
                raise self.fail(EXPECT_SHALLOWER)
            scan.pos += 1
            inner = self.expression(depth + 1)
            scan.skip_space()
            if scan.peek() != ")":
                raise self.fail(EXPECT_CLOSE, note=self.continuation_note())
            scan.pos += 1
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        path = self.field_path()
        op = self.operator()
        if op == "IN":
            return Comparison(path, op, self.value_list())
        return Comparison(path, op, (self.value(),))

    def field_path(self) -> tuple[str, ...]:
        scan = self.scan
        scan.skip_space()
        segments: list[str] = []
        while True:
            if scan.peek() == '"':
                segments.append(scan.quoted())
            else:
                word = scan.word_at(scan.pos)
                if not word:
                    raise self.fail(EXPECT_FIELD)
                segments.append(word)
                scan.pos += len(word)
            if scan.peek() != ".":
                return tuple(segments)
            scan.pos += 1

    def operator(self) -> Operator:
        scan = self.scan
        scan.skip_space()
        text, pos = scan.text, scan.pos
        two = _TWO_CHAR_OPERATORS.get(text[pos:pos + 2])
        if two is not None:
            scan.pos += 2
            return two
        if text.startswith("==", pos):
            raise self.fail(EXPECT_OPERATOR, note="equality is a single '='")
        one = _ONE_CHAR_OPERATORS.get(text[pos:pos + 1])
        if one is not None:
            scan.pos += 1
            return one
        if scan.keyword("in"):
            return "IN"
        raise self.fail(EXPECT_OPERATOR)

    def value(self) -> Value:
        scan = self.scan
        scan.skip_space()
        char = scan.peek()
        if char == '"':
            return Value(scan.quoted())
        if not char or char in "),":
            raise self.fail(EXPECT_VALUE)
        if char == "(":
            raise self.fail(EXPECT_VALUE, note='quote values holding parentheses: "Audit (Block)"')
        text = scan.bare_value()
        self.bare_value_end = scan.pos
        return Value(text)

    def value_list(self) -> tuple[Value, ...]:
        scan = self.scan
        scan.skip_space()
        if scan.peek() != "(":
            raise self.fail(EXPECT_OPEN_LIST)
        scan.pos += 1
        values = [self.value()]
        while True:
            scan.skip_space()
            char = scan.peek()
            if char == ",":
                scan.pos += 1
                values.append(self.value())
            elif char == ")":
                scan.pos += 1
                return tuple(values)
            else:
                raise self.fail(EXPECT_LIST_NEXT, note=self.continuation_note())


def parse(text: str) -> Filter:
    """Parse a filter expression; raises FilterError (a ValueError) saying where and why not."""
    if len(text) > MAX_LENGTH:
        raise FilterError(MAX_LENGTH, EXPECT_SHORTER, f"{len(text)} characters")
    parser = _Parser(text)
    root = parser.expression(0)
    parser.scan.skip_space()
    if not parser.scan.at_end():
        raise parser.fail(EXPECT_CONTINUATION, note=parser.continuation_note())
    return Filter(text, root)
