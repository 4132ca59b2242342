"""``signet cloud users ...``: create the first admin, manage users and API tokens."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cloud.db.cli import config_option, load_cloud_config


def _engine(config_path: Path | None, url: str | None):  # type: ignore[no-untyped-def]
    from cloud.db.engine import make_engine
    from cloud.db.migrate import upgrade

    cfg = load_cloud_config(config_path)
    engine = make_engine(url or cfg.database.url)
    upgrade(engine)  # the first admin is usually made on a fresh database
    return engine


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


url_option = click.option("--url", default=None, help="Database URL (overrides the settings).")


@click.group()
def users() -> None:
    """Dashboard users (roles admin, reviewer, viewer) and API tokens."""


@users.command("add")
@click.argument("name")
@click.option("--admin", "is_admin", is_flag=True, help="Shorthand for --role admin.")
@click.option(
    "--role", type=click.Choice(["admin", "reviewer", "viewer"]), default=None, help="Role of the user."
)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@config_option
@url_option
def users_add(
    name: str,
    is_admin: bool,
    role: str | None,
    password_stdin: bool,
    config_path: Path | None,
    url: str | None,
) -> None:
    """Create a user (``signet cloud users add alice --admin`` makes the first admin)."""
    from sqlalchemy import select

    from cloud.auth.passwords import WeakPassword, check_strength, hash_password
    from cloud.db.engine import session_scope
    from cloud.db.models import AuditLog, User
    from edge.contract import utcnow

    if is_admin and role and role != "admin":
        raise click.UsageError("--admin and --role disagree")
    role = "admin" if is_admin else role
    if role is None:
        raise click.UsageError("give --admin or --role admin|reviewer|viewer")
    if not name.strip() or len(name) > 100:
        raise click.UsageError("the user name must be 1-100 characters")
    password = _read_password(password_stdin)
    try:
        check_strength(password)
    except WeakPassword as exc:
        raise click.ClickException(str(exc)) from exc
    engine = _engine(config_path, url)
    with session_scope(engine) as s:
        if s.scalars(select(User).where(User.username == name)).first() is not None:
            raise click.ClickException(f"user {name} already exists")
        s.add(User(username=name, password_hash=hash_password(password), role=role, created_at=utcnow()))
        s.add(AuditLog(at=utcnow(), actor="cli", action="user_create", target=name, details={"role": role}))
    click.echo(f"user {name} created with role {role}")


@users.command("list")
@config_option
@url_option
def users_list(config_path: Path | None, url: str | None) -> None:
    """List users."""
    from sqlalchemy import select

    from cloud.db.engine import session_scope
    from cloud.db.models import User

    with session_scope(_engine(config_path, url)) as s:
        for u in s.scalars(select(User).order_by(User.username)):
            click.echo(f"{u.username}\t{u.role}\t{'active' if u.active else 'disabled'}")


@users.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "reviewer", "viewer"]), default=None)
@click.option("--disable/--enable", default=None, help="Disable or re-enable the user.")
@click.option(
    "--password", "change_password", is_flag=True, help="Set a new password (prompted, or --password-stdin)."
)
@click.option("--password-stdin", is_flag=True)
@config_option
@url_option
def users_set(
    name: str,
    role: str | None,
    disable: bool | None,
    change_password: bool,
    password_stdin: bool,
    config_path: Path | None,
    url: str | None,
) -> None:
    """Change a user's role, password or whether it is active."""
    from sqlalchemy import select

    from cloud.auth.passwords import WeakPassword, check_strength, hash_password
    from cloud.db.engine import session_scope
    from cloud.db.models import AuditLog, User
    from edge.contract import utcnow

    with session_scope(_engine(config_path, url)) as s:
        user = s.scalars(select(User).where(User.username == name)).first()
        if user is None:
            raise click.ClickException(f"no user {name}")
        details: dict[str, object] = {}
        if role:
            details["role"] = [user.role, role]
            user.role = role
        if disable is not None:
            user.active = not disable
            details["active"] = user.active
        if change_password or password_stdin:
            pw = _read_password(password_stdin)
            try:
                check_strength(pw)
            except WeakPassword as exc:
                raise click.ClickException(str(exc)) from exc
            user.password_hash = hash_password(pw)
            details["password"] = "changed"
        s.add(AuditLog(at=utcnow(), actor="cli", action="user_update", target=name, details=details))
    click.echo(f"user {name} updated")


@users.command("token")
@click.argument("name")
@click.option(
    "--role", type=click.Choice(["admin", "reviewer", "viewer"]), default="viewer", show_default=True
)
@config_option
@url_option
def users_token(name: str, role: str, config_path: Path | None, url: str | None) -> None:
    """Create an API token (printed once; only its hash is stored)."""
    from cloud.auth.tokens import create_api_token
    from cloud.db.engine import session_scope
    from cloud.db.models import AuditLog
    from edge.contract import utcnow

    with session_scope(_engine(config_path, url)) as s:
        row, token = create_api_token(s, name, role)
        s.add(
            AuditLog(
                at=utcnow(),
                actor="cli",
                action="token_create",
                target=name,
                details={"role": role, "prefix": row.prefix},
            )
        )
    click.echo(token)
