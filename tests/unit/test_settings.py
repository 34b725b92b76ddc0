"""Observability settings read from the environment (SPEC §9)."""

from __future__ import annotations

import pytest

from alertwire.settings import SettingsError, load_settings


def test_log_level_from_the_environment() -> None:
    """ALERTWIRE_LOG_LEVEL takes a level name in any case; info when unset; anything else is
    refused naming the variable and the accepted levels."""
    assert load_settings({}).log_level == "info"
    assert load_settings({"ALERTWIRE_LOG_LEVEL": "DEBUG"}).log_level == "debug"
    assert load_settings({"ALERTWIRE_LOG_LEVEL": " warning "}).log_level == "warning"
    with pytest.raises(SettingsError, match=r"ALERTWIRE_LOG_LEVEL: expected one of debug, info, "
                                            r"warning, error, critical, got 'verbose'"):
        load_settings({"ALERTWIRE_LOG_LEVEL": "verbose"})


def test_worker_stall_after_is_a_duration() -> None:
    """ALERTWIRE_WORKER_STALL_AFTER is written like every duration (30s, 2m); 60 s by default."""
    assert load_settings({}).worker_stall_after == 60.0
    assert load_settings({"ALERTWIRE_WORKER_STALL_AFTER": "2m"}).worker_stall_after == 120.0
    with pytest.raises(SettingsError, match="ALERTWIRE_WORKER_STALL_AFTER"):
        load_settings({"ALERTWIRE_WORKER_STALL_AFTER": "soon"})
