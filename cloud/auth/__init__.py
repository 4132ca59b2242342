"""Users, roles, sessions, tokens, CSRF and the audit log.

Blueprints declare access on every view with ``public``, ``require_role`` or ``require_token``
(undeclared views are refused), read the caller with ``current_principal`` and record admin
actions with ``audit``.
"""

from cloud.auth.core import (
    Principal,
    audit,
    csrf_token,
    current_principal,
    public,
    require_role,
    require_token,
)

__all__ = ["Principal", "audit", "csrf_token", "current_principal", "public", "require_role", "require_token"]
