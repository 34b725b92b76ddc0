"""KubeArmor policies as `alertwire agent` enforces them: parsing with errors that name the
field, and the pure decision "does this access by this program violate a rule?".

Supported (KubeArmorPolicy, KubeArmorHostPolicy, KubeArmorClusterPolicy): `spec.file`
`matchPaths` / `matchDirectories` (`recursive`, `readOnly`, `fromSource`), `spec.process`
`matchPaths` / `matchDirectories` (`recursive`, `fromSource`), `action` Audit or Block (at
the policy or per rule), `severity`, `tags`, `message`. Selectors are read but not applied:
the agent enforces on the host it runs on. Anything else (network, capabilities, syscalls,
matchPatterns, ownerOnly, Allow lists) is refused with a clear error rather than silently
not enforced."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import yaml

Action = Literal["Audit", "Block"]
Access = Literal["read", "write", "exec"]
Operation = Literal["File", "Process"]
KINDS = ("KubeArmorPolicy", "KubeArmorHostPolicy", "KubeArmorClusterPolicy")
_SPEC_KEYS = frozenset({"selector", "nodeSelector", "severity", "tags", "message", "action",
                        "file", "process"})
_UNENFORCEABLE = {
    "network": "network rules", "capabilities": "capability rules", "syscalls": "syscall rules",
}


class PolicyError(ValueError):
    """A policy that cannot be enforced as written: `where` is the file and field path."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


@dataclass(frozen=True)
class Source:
    """A `fromSource` entry: an executable path, or a directory (of executables)."""

    path: str
    is_dir: bool = False
    recursive: bool = False

    def matches(self, executable: str) -> bool:
        return under(executable, self.path, self.recursive) if self.is_dir \
            else executable == self.path


@dataclass(frozen=True)
class Rule:
    """One `matchPaths` / `matchDirectories` entry with what applies to it."""

    operation: Operation
    path: str  # a file, or a directory ending in '/'
    is_dir: bool
    recursive: bool
    read_only: bool
    from_source: tuple[Source, ...]
    action: Action
    severity: int | None
    tags: tuple[str, ...]
    message: str | None

    def covers(self, path: str) -> bool:
        if not self.is_dir:
            return path == self.path
        return path == self.path.rstrip("/") or under(path, self.path, self.recursive)

    def applies_to(self, executable: str | None) -> bool:
        if not self.from_source:
            return True
        return executable is not None and any(s.matches(executable) for s in self.from_source)


@dataclass(frozen=True)
class Policy:
    name: str
    kind: str
    rules: tuple[Rule, ...]
    origin: str


@dataclass(frozen=True)
class Violation:
    policy: Policy
    rule: Rule


def under(path: str, directory: str, recursive: bool) -> bool:
    """`path` is inside `directory` (ending in '/'): directly, or at any depth if recursive."""
    if not path.startswith(directory) or len(path) == len(directory):
        return False
    return recursive or "/" not in path[len(directory):]


def violation(policies: Iterable[Policy], operation: Operation, path: str, access: Access,
              executable: str | None) -> Violation | None:
    """The `operation` rule that `access` to `path` by `executable` breaks, Block rules
    before Audit ones, or None. File rules see every access to the file (a read-only rule
    only writes); process rules see executions. For an execution, `executable` is the program
    that calls exec."""
    audit: Violation | None = None
    for policy in policies:
        for rule in policy.rules:
            if rule.operation != operation or (operation == "Process" and access != "exec"):
                continue
            if rule.read_only and access != "write":
                continue
            if not rule.covers(path) or not rule.applies_to(executable):
                continue
            if rule.action == "Block":
                return Violation(policy, rule)
            audit = audit or Violation(policy, rule)
    return audit


Hear = Literal["open", "exec", "modify", "read"]


@dataclass(frozen=True)
class Watch:
    """What to mark: a directory, for its direct children (and everything below when
    `recursive`), or a single file (`is_file`); `hear` names the events wanted there."""

    path: str
    recursive: bool
    hear: frozenset[Hear]
    is_file: bool = False


def watches(policies: Iterable[Policy]) -> list[Watch]:
    """What to mark for these policies. A file rule marks the file's directory (so a file
    replaced or created later is still covered) for opens, and for modifications it could not
    stop at open; a process rule marks for executions. A Block rule on one file that also
    forbids reading marks the file itself for reads, so descriptors opened before the agent
    started cannot read it either."""
    merged: dict[tuple[str, bool, bool], set[Hear]] = {}
    for policy in policies:
        for rule in policy.rules:
            if rule.is_dir:
                key = (rule.path.rstrip("/") or "/", rule.recursive, False)
            else:
                key = (rule.path.rsplit("/", 1)[0] or "/", False, False)
            merged.setdefault(key, set()).update(
                {"exec"} if rule.operation == "Process" else {"open", "modify"})
            if (rule.operation == "File" and not rule.is_dir and not rule.read_only
                    and rule.action == "Block" and not rule.from_source):
                merged.setdefault((rule.path, False, True), set()).add("read")
    return [Watch(p, r, frozenset(h), f) for (p, r, f), h in sorted(merged.items())]


# ------------------------------------------------------------------------------------ parsing

def load_policies(text: str, origin: str) -> list[Policy]:
    """Every policy in a YAML file (several documents allowed); PolicyError names the file,
    the document and the field that is wrong, and why."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise PolicyError(origin, f"not valid YAML: {exc}") from None
    if not documents:
        raise PolicyError(origin, "no policy in the file")
    policies = []
    for index, document in enumerate(documents):
        where = origin if len(documents) == 1 else f"{origin} (document {index + 1})"
        policies.append(parse_policy(document, where))
    return policies


def parse_policy(document: Any, origin: str) -> Policy:
    doc = _mapping(document, origin, "")
    kind = doc.get("kind")
    if kind not in KINDS:
        raise PolicyError(f"{origin}: kind", f"expected one of {', '.join(KINDS)}, found {kind!r}")
    metadata = _mapping(doc.get("metadata"), origin, "metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise PolicyError(f"{origin}: metadata.name", "required, a non-empty string")
    spec = _mapping(doc.get("spec"), origin, "spec")
    for key in spec:
        if key in _UNENFORCEABLE:
            raise PolicyError(f"{origin}: spec.{key}",
                              f"{_UNENFORCEABLE[key]} cannot be enforced with fanotify; "
                              "alertwire agent enforces file and process rules only")
        if key not in _SPEC_KEYS:
            raise PolicyError(f"{origin}: spec.{key}",
                              f"unknown field; expected {', '.join(sorted(_SPEC_KEYS))}")
    action = _action(spec.get("action"), origin, "spec.action", required=True)
    assert action is not None  # required: None was refused above
    defaults = _Common(
        action=action,
        severity=_severity(spec.get("severity"), origin, "spec.severity"),
        tags=_tags(spec.get("tags"), origin, "spec.tags"),
        message=_message(spec.get("message"), origin, "spec.message"),
    )
    rules: list[Rule] = []
    sections: tuple[tuple[str, Operation], ...] = (("file", "File"), ("process", "Process"))
    for section, operation in sections:
        if spec.get(section) is None:
            continue
        rules += _section(spec[section], operation, defaults, origin, f"spec.{section}")
    if not rules:
        raise PolicyError(f"{origin}: spec", "no file or process rule (spec.file or "
                          "spec.process with matchPaths or matchDirectories)")
    return Policy(name=name, kind=kind, rules=tuple(rules), origin=origin)


@dataclass(frozen=True)
class _Common:
    action: Action
    severity: int | None
    tags: tuple[str, ...]
    message: str | None


def _section(value: Any, operation: Operation, defaults: _Common, origin: str,
             where: str) -> list[Rule]:
    section = _mapping(value, origin, where)
    allowed = {"matchPaths", "matchDirectories"}
    for key in section:
        if key == "matchPatterns":
            raise PolicyError(f"{origin}: {where}.matchPatterns",
                              "glob patterns are not supported; list matchPaths or "
                              "matchDirectories")
        if key not in allowed:
            raise PolicyError(f"{origin}: {where}.{key}",
                              "unknown field; expected matchPaths or matchDirectories")
    rules = []
    for key, is_dir in (("matchPaths", False), ("matchDirectories", True)):
        entries = section.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list) or not entries:
            raise PolicyError(f"{origin}: {where}.{key}", "expected a non-empty list")
        for index, entry in enumerate(entries):
            rules.append(_rule(entry, operation, is_dir, defaults, origin,
                               f"{where}.{key}[{index}]"))
    return rules


def _rule(value: Any, operation: Operation, is_dir: bool, defaults: _Common, origin: str,
          where: str) -> Rule:
    entry = _mapping(value, origin, where)
    key = "dir" if is_dir else "path"
    allowed = {key, "fromSource", "action", "severity", "tags", "message"}
    allowed |= {"recursive"} if is_dir else set()
    allowed |= {"readOnly"} if operation == "File" else set()
    for field in entry:
        if field == "ownerOnly":
            raise PolicyError(f"{origin}: {where}.ownerOnly", "not supported by alertwire agent")
        if field not in allowed:
            raise PolicyError(f"{origin}: {where}.{field}",
                              f"unknown field; expected {', '.join(sorted(allowed))}")
    path = _absolute(entry.get(key), is_dir, origin, f"{where}.{key}")
    return Rule(
        operation=operation, path=path, is_dir=is_dir,
        recursive=_flag(entry.get("recursive"), origin, f"{where}.recursive"),
        read_only=_flag(entry.get("readOnly"), origin, f"{where}.readOnly"),
        from_source=_sources(entry.get("fromSource"), origin, f"{where}.fromSource"),
        action=_action(entry.get("action"), origin, f"{where}.action") or defaults.action,
        severity=_severity(entry.get("severity"), origin, f"{where}.severity")
        or defaults.severity,
        tags=_tags(entry.get("tags"), origin, f"{where}.tags") or defaults.tags,
        message=_message(entry.get("message"), origin, f"{where}.message") or defaults.message,
    )


def _sources(value: Any, origin: str, where: str) -> tuple[Source, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        raise PolicyError(f"{origin}: {where}", "expected a non-empty list of {path: …} or "
                          "{dir: …}")
    sources = []
    for index, item in enumerate(value):
        entry = _mapping(item, origin, f"{where}[{index}]")
        if "path" in entry and set(entry) <= {"path"}:
            sources.append(Source(_absolute(entry["path"], False, origin,
                                            f"{where}[{index}].path")))
        elif "dir" in entry and set(entry) <= {"dir", "recursive"}:
            sources.append(Source(
                _absolute(entry["dir"], True, origin, f"{where}[{index}].dir"), is_dir=True,
                recursive=_flag(entry.get("recursive"), origin, f"{where}[{index}].recursive")))
        else:
            raise PolicyError(f"{origin}: {where}[{index}]",
                              "expected {path: /abs/program} or {dir: /abs/dir/, recursive: …}")
    return tuple(sources)


def _mapping(value: Any, origin: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        label = f"{origin}: {where}" if where else origin
        raise PolicyError(label, f"expected a mapping, found {_describe(value)}")
    return value


def _absolute(value: Any, is_dir: bool, origin: str, where: str) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise PolicyError(f"{origin}: {where}",
                          f"expected an absolute path, found {_describe(value)}")
    if is_dir and not value.endswith("/"):
        raise PolicyError(f"{origin}: {where}", f"a directory ends in '/': {value}/")
    if not is_dir and value.endswith("/"):
        raise PolicyError(f"{origin}: {where}",
                          f"{value} ends in '/': directories go in matchDirectories")
    if any(part in (".", "..") for part in value.split("/")) or "//" in value:
        raise PolicyError(f"{origin}: {where}", f"write the path plainly (no ., .. or //): {value}")
    return value


def _flag(value: Any, origin: str, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PolicyError(f"{origin}: {where}", f"expected true or false, found {_describe(value)}")
    return value


def _action(value: Any, origin: str, where: str, required: bool = False) -> Action | None:
    if value is None and not required:
        return None
    if value == "Allow":
        raise PolicyError(f"{origin}: {where}", "Allow (allow-list) policies are not supported "
                          "by alertwire agent; use Audit or Block")
    if value not in ("Audit", "Block"):
        raise PolicyError(f"{origin}: {where}",
                          f"expected Audit or Block, found {_describe(value)}")
    return value  # type: ignore[no-any-return]


def _severity(value: Any, origin: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise PolicyError(f"{origin}: {where}",
                          f"expected a whole number from 1 to 10, found {_describe(value)}")
    return value


def _tags(value: Any, origin: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(t, str) and t for t in value):
        raise PolicyError(f"{origin}: {where}",
                          f"expected a list of non-empty strings, found {_describe(value)}")
    return tuple(value)


def _message(value: Any, origin: str, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PolicyError(f"{origin}: {where}", f"expected a string, found {_describe(value)}")
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:39] + '…'}"


def covered(policies: Iterable[Policy], path: str) -> bool:
    """Some rule names `path` (a cheap first test before looking at the process)."""
    return any(rule.covers(path) for policy in policies for rule in policy.rules)


def resolved(policy: Policy, realpath: Callable[[str], str]) -> Policy:
    """The policy with its paths through `realpath` (symlinks resolved, as the kernel reports
    paths: `/bin/head` is `/usr/bin/head` on a merged-/usr system)."""
    def real(path: str, is_dir: bool) -> str:
        out = realpath(path.rstrip("/") or "/")
        return (out.rstrip("/") + "/") if is_dir else out

    rules = tuple(replace(
        rule, path=real(rule.path, rule.is_dir),
        from_source=tuple(replace(s, path=real(s.path, s.is_dir)) for s in rule.from_source),
    ) for rule in policy.rules)
    return replace(policy, rules=rules)


def describe(policies: Sequence[Policy]) -> list[str]:
    """One line per rule, as `alertwire agent --check` prints them."""
    lines = []
    for policy in policies:
        for rule in policy.rules:
            scope = ("recursive " if rule.recursive else "") + ("dir " if rule.is_dir else "")
            extra = " readOnly" if rule.read_only else ""
            if rule.from_source:
                extra += " fromSource " + ",".join(s.path for s in rule.from_source)
            lines.append(f"{policy.name}: {rule.action} {rule.operation} {scope}{rule.path}{extra}")
    return lines
