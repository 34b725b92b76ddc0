"""`${ENV_VAR}` references in configuration files: resolved from the environment, every
missing variable named, `$${` kept literally."""

from __future__ import annotations

import pytest

from alertwire.domain.references import MissingVariables, references, resolve


def test_references_are_replaced_anywhere_in_strings() -> None:
    """A reference may be a whole value or part of one, at any depth; other values stay."""
    document = {"integrations": {"gh": {"headers": {"Authorization": "token ${GH_TOKEN}"},
                                        "signing_secret": "${GH_SIGNING}",
                                        "success_codes": [200, 204], "rate_limit": None}}}
    resolved = resolve(document, {"GH_TOKEN": "ghp_abc", "GH_SIGNING": "whsec_x"})
    assert resolved == {"integrations": {"gh": {"headers": {"Authorization": "token ghp_abc"},
                                                "signing_secret": "whsec_x",
                                                "success_codes": [200, 204],
                                                "rate_limit": None}}}


def test_every_missing_variable_is_named() -> None:
    """Missing variables are all reported at once, each once, in the order they appear."""
    with pytest.raises(MissingVariables) as caught:
        resolve(["${A}", {"x": "${B} and ${A}"}, "${C}"], {"C": "set"})
    assert caught.value.names == ["A", "B"]
    assert "A, B" in str(caught.value) and "export A=" in str(caught.value)


def test_an_empty_value_is_a_value() -> None:
    """A variable set to the empty string is not missing."""
    assert resolve("x${EMPTY}y", {"EMPTY": ""}) == "xy"


def test_double_dollar_escapes_a_reference() -> None:
    """`$${NAME}` stands for the literal text `${NAME}` and needs no variable; a lone `$` or
    a brace that is not a reference stays as written."""
    assert resolve("cost $5, $${HOME}, ${not a ref}", {}) == "cost $5, ${HOME}, ${not a ref}"
    assert references("$${HOME} ${USER}") == ["USER"]
