"""Async engine / session plumbing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = ["BUSY_TIMEOUT_MS", "Database", "create_engine", "session_factory"]

BUSY_TIMEOUT_MS = 5000


def _sqlite_file_path(url: str) -> Path | None:
    """Return the on-disk path of a SQLite URL, or ``None`` for memory/URI databases."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    database = u.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    if u.query.get("mode") == "memory":
        return None
    return Path(database)


def create_engine(url: str, *, foreign_keys: bool = True, **kwargs: Any) -> AsyncEngine:
    """Create an :class:`AsyncEngine`.

    For SQLite every new DBAPI connection gets ``journal_mode=WAL``,
    ``busy_timeout`` and ``foreign_keys`` (ON unless *foreign_keys* is False,
    which migrations use so that batch table rebuilds cannot cascade-delete
    child rows). The parent directory of a SQLite file is created.
    """
    path = _sqlite_file_path(url)
    if path is not None:
        path.expanduser().parent.mkdir(parents=True, exist_ok=True)

    engine = create_async_engine(url, **kwargs)

    if engine.dialect.name == "sqlite":
        fk = "ON" if foreign_keys else "OFF"

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                cursor.execute(f"PRAGMA foreign_keys={fk}")
            finally:
                cursor.close()

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class Database:
    """An engine plus its session factory.

    >>> db = Database("sqlite+aiosqlite:///data/bot.db")
    >>> async with db.session() as s:   # commits on success, rolls back on error
    ...     ...
    """

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine: AsyncEngine = create_engine(url, **engine_kwargs)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()

    def __repr__(self) -> str:
        # render_as_string hides any password in the URL.
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"
