"""Cloud storage: SQLAlchemy models, engines, migrations, full-text search and writes."""

from cloud.db.engine import make_engine, session_factory, session_scope
from cloud.db.migrate import upgrade

__all__ = ["make_engine", "session_factory", "session_scope", "upgrade"]
