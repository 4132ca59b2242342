"""Logging: JSON lines under systemd, readable lines on a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _run(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import logging; from signet.logs import setup_logging; import sys; "
        "setup_logging('INFO', sys.argv[1]); logging.getLogger('edge.test').info('hello %s', 'world', extra={'page': 3})"
    )
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)


def test_json_format_writes_one_object_per_line_with_extras() -> None:
    out = _run(["json"], {})
    doc = json.loads(out.stderr.strip())
    assert doc["msg"] == "hello world"
    assert doc["logger"] == "edge.test"
    assert doc["level"] == "info"
    assert doc["page"] == 3


def test_auto_format_is_json_under_systemd_and_human_otherwise() -> None:
    assert json.loads(_run(["auto"], {"INVOCATION_ID": "abc"}).stderr.strip())["msg"] == "hello world"
    human = _run(["auto"], {"INVOCATION_ID": "", "JOURNAL_STREAM": ""}).stderr.strip()
    assert "edge.test: hello world" in human
    assert not human.startswith("{")


def test_contract_schema_command_writes_every_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = subprocess.run(
        [sys.executable, "-m", "signet.cli", "contract", "schema", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "result.schema.json" in names and "desired_models.schema.json" in names
    schema = json.loads((tmp_path / "result.schema.json").read_text())
    assert "result_id" in schema["properties"]
