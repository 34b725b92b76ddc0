"""`${ENV_VAR}` references in a configuration file: how secrets stay out of it.

`alertwire config export` writes each secret as a reference; `alertwire config apply` puts the
variable's value in its place before anything is sent to the server. `$${` stands for a
literal `${`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingVariables(ValueError):
    """References to environment variables that are not set."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        listed = ", ".join(names)
        super().__init__(
            f"environment variable{'s' if len(names) > 1 else ''} not set: {listed} "
            f"(referred to as ${{{names[0]}}}; set {'them' if len(names) > 1 else 'it'}, "
            f"e.g. `export {names[0]}=...`, and run the command again)"
        )


def references(text: str) -> list[str]:
    """The variable names `text` refers to, in order (an escaped `$${` is none)."""
    return [m.group(1) for m in _REFERENCE.finditer(text) if m.group(1)]


def resolve(value: Any, env: Mapping[str, str]) -> Any:
    """`value` (a parsed YAML/JSON document) with every `${NAME}` in its strings replaced by
    the variable's value. Every missing variable is named at once, not only the first."""
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "${"
        if name not in env:
            if name not in missing:
                missing.append(name)
            return ""
        return env[name]

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return _REFERENCE.sub(substitute, item)
        if isinstance(item, list):
            return [walk(x) for x in item]
        if isinstance(item, dict):
            return {key: walk(x) for key, x in item.items()}
        return item

    resolved = walk(value)
    if missing:
        raise MissingVariables(missing)
    return resolved


def reference(name: str) -> str:
    return "${" + name + "}"
