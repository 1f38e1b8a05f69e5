"""Alembic environment: runs on the engine handed in by ``web.database``."""

from __future__ import annotations

from alembic import context

from web.database import METADATA

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=list(METADATA),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
