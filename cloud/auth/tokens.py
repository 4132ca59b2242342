"""Bearer tokens for API clients and devices: random, shown once, stored only as sha256.

A token is high-entropy (256 bits), so a fast hash is enough to store it: unlike a password it
cannot be guessed from its hash. Device tokens live in ``devices.token_hash`` (device identity is
the ingest owner's; they hash with ``hash_token`` too), API tokens in ``api_tokens``.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.db.models import ROLES, ApiToken
from edge.contract import utcnow

API_PREFIX = "sgt_"
DEVICE_PREFIX = "sgd_"


def new_token(prefix: str = API_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token (hex sha256)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(
    session: Session, name: str, role: str, user_id: int | None = None
) -> tuple[ApiToken, str]:
    """Make an API token; returns the row and the plaintext token (never stored)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    token = new_token(API_PREFIX)
    row = ApiToken(
        name=name,
        token_hash=hash_token(token),
        prefix=token[:10],
        role=role,
        user_id=user_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row, token


def find_api_token(session: Session, token: str) -> ApiToken | None:
    """The live (not revoked) API token row for ``token``, if any."""
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    return row
