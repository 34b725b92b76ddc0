"""The command line's integrations, triggers and tokens against a real `alertwire serve`:
every command, its table and its `--json`, and its errors (SPEC §2, §4, §8)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import Server, run_cli
from tests.fixtures import FIXTURES
from tests.receiver import Receiver

TOKEN = "aw_cli_parity_admin"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module; each test uses names of its own."""
    started = Server(tmp_path_factory.mktemp("cli") / "data", env={
        "ALERTWIRE_ADMIN_TOKEN": TOKEN, "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8"}).start()
    yield started
    started.stop()


async def cli(server: Server, *args: str, token: str = TOKEN,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI off the event loop, so the loopback receiver can answer meanwhile."""
    return await asyncio.to_thread(run_cli, server, token, *args, env=env)


async def ok(server: Server, *args: str, env: dict[str, str] | None = None) -> str:
    result = await cli(server, *args, env=env)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result.stdout


async def as_json(server: Server, *args: str) -> Any:
    result = await cli(server, *args, "--json")
    assert result.returncode == 0, f"{args}: {result.stderr}"
    return json.loads(result.stdout)


async def test_integration_lifecycle(server: Server, receiver: Receiver) -> None:
    """add → list → show → test → connect → edit → disable → delete, as in the console: a
    secret header given as ${VAR} is sent as set and only ever shown masked, and stays
    when other headers are edited."""
    env = {"HOOK_TOKEN": "s3cr3t-value-123"}
    out = await ok(server, "integrations", "add", "lifecycle", receiver.url + "/hook",
                   "--header", "Authorization: Bearer ${HOOK_TOKEN}", "--header", "X-Team: sec",
                   "--success-code", "200", "--success-code", "204",
                   "--description", "The SOC's webhook", "--test-payload", '{"hello": "world"}',
                   env=env)
    assert "added integration 'lifecycle'" in out and "draft" in out
    assert "next: alertwire integrations test lifecycle" in out

    listed = await ok(server, "integrations", "list")
    header, row = listed.splitlines()[0], next(r for r in listed.splitlines() if "lifecycle" in r)
    assert header.split() == ["NAME", "STATUS", "METHOD", "URL", "TEMPLATE", "LAST", "TEST", "ID"]
    assert row.split()[:3] == ["lifecycle", "draft", "POST"] and "never tested" in row
    (item,) = [i for i in await as_json(server, "integrations", "list") if i["name"] == "lifecycle"]
    assert item["headers"] == {"Authorization": "Bearer s3cr…****", "X-Team": "sec"}
    assert item["success_codes"] == [200, 204]
    shown = await ok(server, "integrations", "show", "LIFECYCLE")  # names are case-insensitive
    assert "s3cr3t" not in shown and "header Authorization: Bearer s3cr…****" in shown
    assert (await as_json(server, "integrations", "show", item["id"]))["id"] == item["id"]

    early = await cli(server, "integrations", "connect", "lifecycle")
    assert early.returncode == 1 and early.stdout == ""
    assert "run Test Connection first" in early.stderr and "HTTP 409" in early.stderr

    tested = await ok(server, "integrations", "test", "lifecycle")
    assert "ok: 'lifecycle' answered 200" in tested
    assert receiver.requests[-1].header("Authorization") == "Bearer s3cr3t-value-123"
    assert json.loads(receiver.requests[-1].body) == {"hello": "world"}
    assert "is active" in await ok(server, "integrations", "connect", "lifecycle")

    edited = await ok(server, "integrations", "edit", "lifecycle", "--header", "X-Team: blue",
                      "--webhook-url", receiver.url + "/moved")
    assert "updated integration 'lifecycle'" in edited and "headers, url" in edited
    assert "alertwire integrations test lifecycle" in edited
    result = await as_json(server, "integrations", "test", "lifecycle")
    assert result["ok"] is True and result["status_code"] == 200
    assert receiver.requests[-1].path == "/moved"
    assert receiver.requests[-1].header("Authorization") == "Bearer s3cr3t-value-123"
    assert receiver.requests[-1].header("X-Team") == "blue"
    removed = await as_json(server, "integrations", "edit", "lifecycle", "--remove-header",
                            "x-team", "--method", "put", "--max-concurrency", "3",
                            "--rate-limit", "2.5")
    assert removed["headers"] == {"Authorization": "Bearer s3cr…****"}
    assert (removed["method"], removed["max_concurrency"], removed["rate_limit"]) == \
        ("PUT", 3, 2.5)

    assert "disabled integration" in await ok(server, "integrations", "disable", "lifecycle")
    assert (await as_json(server, "integrations", "show", "lifecycle"))["status"] == "disabled"
    unconfirmed = await cli(server, "integrations", "delete", "lifecycle")
    assert unconfirmed.returncode == 1 and "--yes" in unconfirmed.stderr
    assert "deleted integration 'lifecycle'" in await ok(server, "integrations", "delete",
                                                          "lifecycle", "--yes")
    assert [i for i in await as_json(server, "integrations", "list") if i["name"] == "lifecycle"] == []


async def test_integration_errors_say_what_is_wrong(server: Server, receiver: Receiver) -> None:
    """Refusals exit 1 with the server's message on stderr (JSON with --json) and nothing
    on stdout; a failing Test Connection exits 1 too; usage mistakes exit 2."""
    bad = await cli(server, "integrations", "add", "bad-url", "ftp://example.com")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip() == \
        "error: url: must be an absolute http:// or https:// URL (HTTP 422)"
    bad_json = await cli(server, "integrations", "add", "bad-url", "ftp://example.com", "--json")
    assert bad_json.returncode == 1 and bad_json.stdout == ""
    error = json.loads(bad_json.stderr)
    assert (error["status"], error["field"]) == (422, "url")

    missing = await cli(server, "integrations", "show", "ghost")
    assert missing.returncode == 1 and "no integration named 'ghost'" in missing.stderr
    unset = await cli(server, "integrations", "add", "x", receiver.url,
                      "--header", "Authorization: ${NOT_SET_ANYWHERE}")
    assert unset.returncode == 2 and "NOT_SET_ANYWHERE" in unset.stderr
    malformed = await cli(server, "integrations", "add", "x", receiver.url, "--header", "no-colon")
    assert malformed.returncode == 2 and "'Name: value'" in malformed.stderr

    await ok(server, "integrations", "add", "failing", receiver.url + "/status/500")
    failed = await cli(server, "integrations", "test", "failing")
    assert failed.returncode == 1
    assert "failed: 'failing' answered 500" in failed.stdout
    failed_json = await cli(server, "integrations", "test", "failing", "--json")
    assert failed_json.returncode == 1
    assert json.loads(failed_json.stdout)["ok"] is False
    nothing = await cli(server, "integrations", "edit", "failing")
    assert nothing.returncode == 1 and "nothing to change" in nothing.stderr

    wrong_token = await cli(server, "integrations", "list", token="aw_wrong")
    assert wrong_token.returncode == 1
    assert "unknown or revoked token (HTTP 401)" in wrong_token.stderr
    nowhere = await cli(server, "integrations", "list", "--url", "http://127.0.0.1:9")
    assert nowhere.returncode == 1 and "cannot reach http://127.0.0.1:9" in nowhere.stderr


async def test_trigger_commands(server: Server, receiver: Receiver) -> None:
    """add (channels by name), list, show, edit, disable/enable, test-filter and delete; a
    filter error says where."""
    await ok(server, "integrations", "add", "for-triggers", receiver.url + "/t")
    out = await ok(server, "triggers", "add", "Blocked writes", "--filter",
                   "Action = Block AND Operation = File", "--channel", "for-triggers",
                   "--throttle-by", "PodName", "--throttle-period", "10m")
    assert "added trigger 'Blocked writes'" in out
    listed = await ok(server, "triggers", "list")
    row = next(r for r in listed.splitlines() if r.startswith("Blocked writes"))
    assert "for-triggers" in row and "realtime" in row
    shown = await ok(server, "triggers", "show", "blocked WRITES")
    assert "one per PodName per 10m" in shown and "channels:     for-triggers" in shown

    edited = await as_json(server, "triggers", "edit", "Blocked writes", "--filter",
                           "Action = Block", "--no-throttle", "--frequency", "daily",
                           "--timezone", "Europe/Berlin", "--disable")
    assert (edited["filter"], edited["throttle"], edited["frequency"], edited["enabled"]) == \
        ("Action = Block", None, "daily", False)
    assert edited["timezone"] == "Europe/Berlin"
    assert "enabled trigger" in await ok(server, "triggers", "enable", "Blocked writes")
    assert (await as_json(server, "triggers", "show", "Blocked writes"))["enabled"] is True

    await ok(server, "alerts", "send", str(FIXTURES / "kubearmor/alerts/fim-touch-block-saas.json"))
    tested = await ok(server, "triggers", "test-filter", "Action = Block")
    assert tested.splitlines()[0].startswith("1 of ")
    assert (await as_json(server, "triggers", "test-filter", "Action = Nothing"))["matched"] == 0

    bad = await cli(server, "triggers", "add", "bad", "--filter", "Action = = Block",
                    "--channel", "for-triggers")
    assert bad.returncode == 1 and "filter: at position" in bad.stderr and "422" in bad.stderr
    no_channel = await cli(server, "triggers", "add", "bad", "--filter", "Action = Block")
    assert no_channel.returncode == 2 and "--channel" in no_channel.stderr
    ghost = await cli(server, "triggers", "add", "bad", "--filter", "x = 1", "--channel", "ghost")
    assert ghost.returncode == 1 and "no integration named 'ghost'" in ghost.stderr

    in_use = await cli(server, "integrations", "delete", "for-triggers", "--yes")
    assert in_use.returncode == 1 and "used by trigger(s) Blocked writes" in in_use.stderr
    deleted = await as_json(server, "triggers", "delete", "Blocked writes", "--yes")
    assert deleted["name"] == "Blocked writes"
    gone = await cli(server, "triggers", "show", "Blocked writes")
    assert gone.returncode == 1 and "no trigger named" in gone.stderr


async def test_token_commands(server: Server) -> None:
    """create prints the token once (and --json the whole record); list shows names and
    scopes, never tokens; a read token may list but not add (403 says why); revoke by name
    makes the token fail with 401."""
    created = await cli(server, "tokens", "create", "dashboard", "--scope", "read")
    assert created.returncode == 0
    secret = created.stdout.strip()
    assert secret.startswith("aw_") and "shown only this once" in created.stderr
    record = await as_json(server, "tokens", "create", "ci-sender", "--scope", "ingest")
    assert record["scopes"] == ["ingest"] and record["token"].startswith("aw_")

    listed = await ok(server, "tokens", "list")
    assert "dashboard" in listed and "read" in listed and secret not in listed
    names = {t["name"]: t for t in await as_json(server, "tokens", "list")}
    assert {"dashboard", "ci-sender"} <= set(names) and names["dashboard"].get("token") is None

    assert (await cli(server, "integrations", "list", token=secret)).returncode == 0
    # --token wins over ALERTWIRE_TOKEN (which holds the admin token here).
    refused = await cli(server, "integrations", "add", "nope", "https://example.com",
                        "--token", secret)
    assert refused.returncode == 1
    assert "this token has scope read; this needs admin (HTTP 403)" in refused.stderr
    bad_scope = await cli(server, "tokens", "create", "x", "--scope", "root")
    assert bad_scope.returncode == 1 and "scopes" in bad_scope.stderr and "422" in bad_scope.stderr

    revoked = await ok(server, "tokens", "revoke", "dashboard", "--yes")
    assert f"revoked token 'dashboard' ({names['dashboard']['id']})" in revoked
    after = await cli(server, "integrations", "list", token=secret)
    assert after.returncode == 1 and "HTTP 401" in after.stderr
    again = await cli(server, "tokens", "revoke", "dashboard", "--yes")
    assert again.returncode == 1 and "no token with id or name 'dashboard'" in again.stderr
    by_id = await as_json(server, "tokens", "revoke", record["id"], "--yes")
    assert by_id == {"revoked": record["id"], "name": "ci-sender"}


async def test_alert_commands_speak_json(server: Server, tmp_path: Path) -> None:
    """`alerts send` and `simulate` answer JSON with --json; an unreadable file is a clear
    error."""
    sent = await as_json(server, "simulate")
    assert sent["accepted"] == 1 and sent["ids"][0].startswith("alr_")
    missing = await cli(server, "alerts", "send", str(tmp_path / "none.json"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
