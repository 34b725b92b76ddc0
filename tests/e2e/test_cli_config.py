"""Configuration as code from the command line, against real servers: `alertwire config
export > alertwire.yaml` and `alertwire config apply alertwire.yaml` (secrets by ${ENV_VAR},
idempotent, --dry-run, --prune)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import yaml

from tests.e2e.server import Server, run_cli
from tests.receiver import Receiver

TOKEN = "aw_cli_config_admin"
ROUTING_KEY = "R0uTiNgKeY0123456789abcdefABCDEF"


def new_server(data: Path) -> Server:
    return Server(data, env={"ALERTWIRE_ADMIN_TOKEN": TOKEN,
                             "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8"})


async def cli(server: Server, *args: str, env: dict[str, str] | None = None,
              stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_cli, server, TOKEN, *args, env=env, stdin=stdin)


async def ok(server: Server, *args: str, env: dict[str, str] | None = None,
             stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = await cli(server, *args, env=env, stdin=stdin)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


async def test_export_then_apply_here_and_on_a_new_server(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The export holds references, not secrets, and says which variables to set; applying
    it without them fails naming them; with them it is no change on the same server, and on
    a fresh server --dry-run shows the creates without making them, apply makes them (the
    active integration tested and connected, signing with the same secret), and a second
    apply changes nothing."""
    env = {"SIEM_TOKEN": "Bearer siem-s3cr3t-token", "PD_KEY": ROUTING_KEY}
    first = new_server(tmp_path / "a")
    second = new_server(tmp_path / "b")
    await asyncio.to_thread(first.start)
    await asyncio.to_thread(second.start)
    try:
        await ok(first, "integrations", "add", "SIEM", receiver.url + "/siem",
                 "--header", "Authorization: ${SIEM_TOKEN}", "--header", "X-Team: secops",
                 "--success-code", "200", env=env)
        await ok(first, "integrations", "test", "SIEM")
        await ok(first, "integrations", "connect", "SIEM")
        await ok(first, "integrations", "add", "pager", receiver.url + "/pd", "--template",
                 "pagerduty", "--option", "routing_key=${PD_KEY}", "--option", "source=k8s",
                 env=env)
        await ok(first, "integrations", "edit", "SIEM", "--fallback", "pager")
        await ok(first, "triggers", "add", "Blocked", "--filter", "Action = Block",
                 "--channel", "SIEM", "--channel", "pager", "--throttle-by", "PodName",
                 "--throttle-period", "10m")

        exported = await ok(first, "config", "export")
        text = exported.stdout
        assert "siem-s3cr3t" not in text and ROUTING_KEY not in text and "whsec_" not in text
        document = yaml.safe_load(text)
        siem = document["integrations"]["SIEM"]
        assert siem["headers"] == {
            "Authorization": "${ALERTWIRE_SECRET_SIEM_HEADER_AUTHORIZATION}", "X-Team": "secops"}
        assert siem["signing_secret"] == "${ALERTWIRE_SECRET_SIEM_SIGNING_SECRET}"
        assert (siem["status"], siem["fallback"], siem["success_codes"]) == ("active", "pager",
                                                                             [200])
        assert document["integrations"]["pager"]["template_options"]["routing_key"] == \
            "${ALERTWIRE_SECRET_PAGER_OPTION_ROUTING_KEY}"
        assert document["triggers"]["Blocked"]["channels"] == ["pager", "SIEM"]
        assert "#   ALERTWIRE_SECRET_SIEM_HEADER_AUTHORIZATION  header Authorization of SIEM" \
            in text
        variables = ["ALERTWIRE_SECRET_PAGER_OPTION_ROUTING_KEY",
                     "ALERTWIRE_SECRET_PAGER_SIGNING_SECRET",
                     "ALERTWIRE_SECRET_SIEM_HEADER_AUTHORIZATION",
                     "ALERTWIRE_SECRET_SIEM_SIGNING_SECRET"]
        assert f"set: {', '.join(variables)}" in exported.stderr
        config = tmp_path / "alertwire.yaml"
        await ok(first, "config", "export", "-o", str(config))
        assert config.read_text() == text

        unsigned = yaml.safe_load((await ok(first, "config", "export", "--no-signing-secrets")).stdout)
        assert "signing_secret" not in unsigned["integrations"]["SIEM"]
        assert unsigned["integrations"]["SIEM"]["headers"] == siem["headers"]

        missing = await cli(first, "config", "apply", str(config))
        assert missing.returncode == 1 and missing.stdout == ""
        assert f"environment variables not set: {', '.join(variables)}" in missing.stderr

        secrets = {
            "ALERTWIRE_SECRET_SIEM_HEADER_AUTHORIZATION": env["SIEM_TOKEN"],
            "ALERTWIRE_SECRET_PAGER_OPTION_ROUTING_KEY": ROUTING_KEY,
            "ALERTWIRE_SECRET_SIEM_SIGNING_SECRET":
                (await ok(first, "integrations", "secret", "SIEM")).stdout.strip(),
            "ALERTWIRE_SECRET_PAGER_SIGNING_SECRET":
                (await ok(first, "integrations", "secret", "pager")).stdout.strip(),
        }
        same = await ok(first, "config", "apply", str(config), env=secrets)
        assert same.stdout.strip() == \
            f"no changes: the server already matches {config} (3 objects)"

        dry = await ok(second, "config", "apply", str(config), "--dry-run", env=secrets)
        lines = dry.stdout.splitlines()
        assert lines[0] == "+ create integration 'pager'" and "+ create integration 'SIEM'" in lines
        assert f'    url: "{receiver.url}/siem"' in lines
        assert "    headers.Authorization: (secret, set)" in lines
        assert '    headers.X-Team: "secops"' in lines
        assert "    signing_secret: (secret, set)" in lines
        assert "+ create trigger 'Blocked'" in lines
        assert lines[-1] == ("dry run: 3 to create, 0 to update, 0 to delete, 0 unchanged; "
                             "nothing was changed")
        assert json.loads((await ok(second, "integrations", "list", "--json")).stdout) == []

        receiver.requests.clear()
        applied = await ok(second, "config", "apply", str(config), env=secrets)
        assert applied.stdout.splitlines()[-1] == \
            "applied: 3 created, 0 updated, 0 deleted, 0 unchanged"
        made = json.loads((await ok(second, "integrations", "show", "SIEM", "--json")).stdout)
        assert made["status"] == "active"
        assert [r.path for r in receiver.requests] == ["/siem"]  # its Test Connection
        assert receiver.requests[0].header("Authorization") == env["SIEM_TOKEN"]
        assert (await ok(second, "integrations", "secret", "SIEM")).stdout.strip() == \
            secrets["ALERTWIRE_SECRET_SIEM_SIGNING_SECRET"]
        again = await ok(second, "config", "apply", str(config), env=secrets)
        assert again.stdout.startswith("no changes: the server already matches")
        assert json.loads((await ok(second, "config", "export", "--json")).stdout)["config"] == \
            json.loads((await ok(first, "config", "export", "--json")).stdout)["config"]
    finally:
        await asyncio.to_thread(first.stop)
        await asyncio.to_thread(second.stop)


CONFIG = """\
integrations:
  hook:
    url: {url}/a
    headers:
      Authorization: Bearer ${{HOOK_TOKEN}}
triggers:
  blocked:
    filter: Action = Block
    channels: [hook]
"""


async def test_field_level_diff_prune_and_errors(tmp_path: Path, receiver: Receiver) -> None:
    """A changed file shows each changed field (a secret only as changed), --dry-run leaves
    the server as it was, objects left out are kept unless --prune, and mistakes in the file
    exit 1 naming the file and the place."""
    server = new_server(tmp_path / "data")
    await asyncio.to_thread(server.start)
    try:
        path = tmp_path / "alertwire.yaml"
        path.write_text(CONFIG.format(url=receiver.url))
        await ok(server, "config", "apply", str(path), env={"HOOK_TOKEN": "first-token-1"})

        path.write_text(CONFIG.format(url=receiver.url).replace("/a\n", "/b\n"))
        changed = {"HOOK_TOKEN": "second-token-2"}
        dry = await ok(server, "config", "apply", str(path), "--dry-run", env=changed)
        assert dry.stdout.splitlines() == [
            "~ update integration 'hook'",
            f'    url: "{receiver.url}/a" → "{receiver.url}/b"',
            "    headers.Authorization: (secret, changed)",
            "dry run: 0 to create, 1 to update, 0 to delete, 1 unchanged; nothing was changed",
        ]
        assert "second-token" not in dry.stdout
        shown = json.loads((await ok(server, "integrations", "show", "hook", "--json")).stdout)
        assert shown["url"] == receiver.url + "/a"
        result = json.loads((await ok(server, "config", "apply", str(path), "--json",
                                      env=changed)).stdout)
        assert [(c["name"], [f["field"] for f in c["fields"]]) for c in result["changes"]] == [
            ("hook", ["url", "headers.Authorization"])]
        receiver.requests.clear()
        await ok(server, "integrations", "test", "hook")
        assert receiver.requests[0].header("Authorization") == "Bearer second-token-2"
        same = await ok(server, "config", "apply", str(path), env=changed)
        assert same.stdout.startswith("no changes")

        only_hook = CONFIG.format(url=receiver.url).replace("/a\n", "/b\n").split("triggers:")[0]
        kept = await ok(server, "config", "apply", "-", env=changed, stdin=only_hook)
        assert kept.stdout.splitlines() == [
            "kept, not in stdin (--prune deletes them): trigger 'blocked'",
            "no changes: the server already matches stdin (1 object)"]
        pruned = await ok(server, "config", "apply", "-", "--prune", env=changed, stdin=only_hook)
        assert pruned.stdout.splitlines()[0] == "- delete trigger 'blocked'"
        assert json.loads((await ok(server, "triggers", "list", "--json")).stdout) == []

        twice = await cli(server, "config", "apply", "-", env=changed,
                          stdin=only_hook + "  hook:\n    url: https://x.example.com\n")
        assert twice.returncode == 1
        assert "stdin: line 6, column 3: found the key 'hook' twice" in twice.stderr
        invalid = await cli(server, "config", "apply", "-", env=changed, stdin=only_hook.replace(
            "    headers:", "    success_codes: [999]\n    headers:"))
        assert invalid.returncode == 1 and invalid.stdout == ""
        assert "error: stdin: integrations.hook.success_codes: 999 is not an HTTP status code" \
            in invalid.stderr and "(HTTP 422)" in invalid.stderr
        as_json = await cli(server, "config", "apply", "-", "--json", env=changed,
                            stdin="integrations:\n  x:\n    url: https://x\n    color: red\n")
        assert as_json.returncode == 1 and as_json.stdout == ""
        assert json.loads(as_json.stderr)["field"] == "config.integrations.x.color"
        absent = await cli(server, "config", "apply", str(tmp_path / "nope.yaml"))
        assert absent.returncode == 1 and "cannot read" in absent.stderr

        broken = await cli(server, "config", "apply", "-", stdin=(
            f"integrations:\n  broken:\n    url: {receiver.url}/status/500\n    status: active\n"))
        assert broken.returncode == 1
        assert "+ create integration 'broken'" in broken.stdout
        assert "error: integration 'broken': not connected: Test Connection failed (status 500" \
            in broken.stderr
        state = json.loads((await ok(server, "integrations", "show", "broken", "--json")).stdout)
        assert state["status"] == "draft"
    finally:
        await asyncio.to_thread(server.stop)
