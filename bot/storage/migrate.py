"""Run Alembic migrations programmatically (at bot start-up or from a CLI).

The migration scripts live in the repository's top-level ``migrations/``
folder, located relative to this file so the working directory is irrelevant.

CLI::

    python -m bot.storage.migrate sqlite+aiosqlite:///data/bot.db

(or plain ``alembic upgrade head`` from the repo root, which reads
``alembic.ini`` and honours ``DATABASE_URL``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.paths import shipped

from .db import create_engine

__all__ = [
    "MIGRATIONS_DIR",
    "downgrade",
    "migration_config",
    "migration_engine",
    "upgrade",
    "upgrade_sync",
]

MIGRATIONS_DIR = shipped("_migrations", "migrations")


def migration_config(url: str) -> Config:
    """An Alembic ``Config`` for *url* that does not read ``alembic.ini``
    (so running migrations never reconfigures the application's logging)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    # ConfigParser interpolation: a literal '%' (e.g. in a password) must be doubled.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migration_engine(url: str) -> AsyncEngine:
    """Engine used for migrations.

    SQLite specifics: ``foreign_keys`` is OFF (a batch table rebuild drops
    and recreates the table, which with FKs ON would cascade-delete child
    rows), and the driver's implicit transaction handling is replaced by an
    explicit ``BEGIN`` so that DDL is transactional and a failed upgrade
    rolls back completely.
    """
    engine = create_engine(url, foreign_keys=False, poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _autocommit_driver(dbapi_connection: Any, connection_record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _explicit_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

    return engine


def _check_foreign_keys(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        tables = sorted({row[0] for row in problems})
        raise RuntimeError(f"foreign key violations after migration in: {', '.join(tables)}")


def _run(conn: Connection, cfg: Config, fn: Any, revision: str) -> None:
    cfg.attributes["connection"] = conn
    fn(cfg, revision)
    _check_foreign_keys(conn)


async def _run_command(url: str, fn: Any, revision: str) -> None:
    cfg = migration_config(url)
    engine = migration_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run, cfg, fn, revision)
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at *url* to *revision* (default: head)."""
    await _run_command(url, command.upgrade, revision)


async def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the database at *url* to *revision* (default: base, i.e. empty)."""
    await _run_command(url, command.downgrade, revision)


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Blocking wrapper for CLIs (must not be called from a running event loop)."""
    asyncio.run(upgrade(url, revision))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    url = args[0] if args else os.environ.get("DATABASE_URL")
    if not url:
        print("usage: python -m bot.storage.migrate DATABASE_URL", file=sys.stderr)
        return 2
    upgrade_sync(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
