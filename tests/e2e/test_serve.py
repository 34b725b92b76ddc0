"""`alertwire serve` and `alertwire --help`, run as real processes (SPEC §8, §9)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import httpx

from tests.e2e.server import REPO, Server, alertwire_cmd


def test_help_lists_commands() -> None:
    """`alertwire --help` explains the program and names `serve`."""
    result = subprocess.run(alertwire_cmd("--help"), cwd=REPO, capture_output=True, text=True,
                            check=True)
    assert "serve" in result.stdout
    assert "webhook" in result.stdout.lower()


def test_first_start_prints_token_once_and_saves_it(tmp_path: Path) -> None:
    """The first start prints the console URL and a new admin token, saved with mode 0600;
    a restart does not print it again, and the token works against the API."""
    server = Server(tmp_path / "data").start()
    try:
        token_file = tmp_path / "data" / "admin-token"
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        key_file = tmp_path / "data" / "secret.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(server.url + "/api/v1/integrations", headers=auth).status_code == 200
        assert httpx.get(server.url + "/api/v1/integrations").status_code == 401
    finally:
        first_output = server.stop()
    assert token in first_output
    assert server.url in first_output
    assert "next:" in first_output

    again = Server(tmp_path / "data").start()
    second_output = again.stop()
    assert token not in second_output
    assert str(token_file) in second_output


def test_admin_token_from_environment(tmp_path: Path) -> None:
    """ALERTWIRE_ADMIN_TOKEN seeds the admin token; none is generated or saved."""
    server = Server(tmp_path / "data", env={"ALERTWIRE_ADMIN_TOKEN": "aw_from_env_123"}).start()
    try:
        auth = {"Authorization": "Bearer aw_from_env_123"}
        assert httpx.get(server.url + "/api/v1/integrations", headers=auth).status_code == 200
        assert not (tmp_path / "data" / "admin-token").exists()
    finally:
        server.stop()


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    """A malformed variable stops the start with a message naming it."""
    env = {"ALERTWIRE_DATA_DIR": str(tmp_path), "ALERTWIRE_ALLOWED_TARGETS": "10.0.0.0/33"}
    result = subprocess.run(alertwire_cmd("serve"), cwd=REPO, capture_output=True, text=True,
                            env=os.environ | env, timeout=30)
    assert result.returncode == 2
    assert "ALERTWIRE_ALLOWED_TARGETS" in result.stderr
