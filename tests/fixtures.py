"""The upstream samples in ../shared/fixtures (KubeArmor alerts and logs, Falco events)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"


def fixture_files() -> list[Path]:
    """Every alert/log/event sample (policies excluded: they are YAML)."""
    return sorted(FIXTURES.rglob("*.json"))
