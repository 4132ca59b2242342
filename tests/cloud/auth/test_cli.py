"""`signet cloud db upgrade` and `signet cloud users ...` against a real database file."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from cloud.auth.passwords import verify_password
from cloud.db.engine import make_engine, session_scope
from cloud.db.migrate import current_revision, head_revision
from cloud.db.models import ApiToken, AuditLog, User
from signet.cli import cli


def test_given_a_new_database_when_adding_the_first_admin_then_it_can_log_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    runner = CliRunner()
    r = runner.invoke(cli, ["cloud", "db", "upgrade", "--url", url])
    assert r.exit_code == 0, r.output
    assert current_revision(make_engine(url)) == head_revision()
    r = runner.invoke(
        cli,
        ["cloud", "users", "add", "alice", "--admin", "--password-stdin", "--url", url],
        input="a long password\n",
    )
    assert r.exit_code == 0, r.output
    assert "role admin" in r.output
    with session_scope(make_engine(url)) as s:
        u = s.scalars(select(User)).one()
        assert u.role == "admin" and verify_password(u.password_hash, "a long password")
        assert s.scalars(select(AuditLog)).one().action == "user_create"


def test_given_bad_input_then_users_add_refuses_with_a_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    runner = CliRunner()
    r = runner.invoke(
        cli, ["cloud", "users", "add", "bob", "--password-stdin", "--url", url], input="whatever pw\n"
    )
    assert r.exit_code != 0 and "--admin or --role" in r.output
    r = runner.invoke(
        cli,
        ["cloud", "users", "add", "bob", "--role", "viewer", "--password-stdin", "--url", url],
        input="short\n",
    )
    assert r.exit_code != 0 and "at least 10" in r.output
    runner.invoke(
        cli,
        ["cloud", "users", "add", "bob", "--role", "viewer", "--password-stdin", "--url", url],
        input="long enough pw\n",
    )
    r = runner.invoke(
        cli,
        ["cloud", "users", "add", "bob", "--role", "viewer", "--password-stdin", "--url", url],
        input="long enough pw\n",
    )
    assert r.exit_code != 0 and "already exists" in r.output


def test_given_a_token_command_then_the_token_is_printed_once_and_stored_hashed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cloud.db'}"
    r = CliRunner().invoke(cli, ["cloud", "users", "token", "grafana", "--role", "viewer", "--url", url])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    assert token.startswith("sgt_")
    with session_scope(make_engine(url)) as s:
        row = s.scalars(select(ApiToken)).one()
        assert row.name == "grafana" and token not in row.token_hash
