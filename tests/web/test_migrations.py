"""Migrations build exactly the tables the packages declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from web.database import METADATA, current_revision, upgrade


def test_upgrade_creates_every_table_and_matches_the_metadata(bare_engine: Engine) -> None:
    assert current_revision(bare_engine) is None
    upgrade(bare_engine)
    upgrade(bare_engine)  # idempotent
    assert current_revision(bare_engine) is not None
    tables = set(inspect(bare_engine).get_table_names())
    declared = {t for metadata in METADATA for t in metadata.tables}
    assert declared <= tables
    assert {"users", "sessions", "audit_log", "schools", "needs"} <= declared
    with bare_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        # alembic accepts a list here as in env.py; its annotation says one MetaData
        assert compare_metadata(context, list(METADATA)) == []  # type: ignore[arg-type]
