"""Reading and writing `alertwire.yaml` (PyYAML, safe loading only).

Stricter than plain `yaml.safe_load` where a silent surprise would change a configuration:
a key given twice is an error (not "the last one wins"), and dates stay text.
"""

from __future__ import annotations

from typing import Any

import yaml

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class ConfigFileError(ValueError):
    """The file is not a configuration: the message says where."""


class _Loader(yaml.SafeLoader):
    pass


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, Any] = {}
    first: dict[Any, yaml.Mark] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "first given", first[key], f"found the key {key!r} twice", key_node.start_mark)
        first[key] = key_node.start_mark
        seen[key] = loader.construct_object(value_node, deep=True)
    return seen


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(text: str, source: str) -> dict[str, Any]:
    """The document in `text`; `source` names it in errors (`alertwire.yaml: line 3 …`)."""
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark, start = exc.problem_mark, exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = f" ({exc.context} at line {start.line + 1}, column {start.column + 1})" \
            if exc.context and start and start.line != (mark.line if mark else -1) else ""
        raise ConfigFileError(f"{source}: {where}{exc.problem or exc}{context}") from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{source}: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigFileError(f"{source}: expected a mapping with `integrations:` and "
                              f"`triggers:`, not {type(document).__name__}")
    return document


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: _Dumper, value: str) -> yaml.ScalarNode:
    # Multi-line text (a custom template) as a literal block, readable and diffable.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=100)
