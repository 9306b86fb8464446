"""Alembic environment for manageit-bot.

Three ways in:
* programmatic (``bot.storage.migrate``): a live sync ``Connection`` is passed
  in ``config.attributes["connection"]`` and used as-is;
* ``alembic`` CLI online: an async engine is created from ``sqlalchemy.url``
  (``DATABASE_URL`` overrides the ini value when running from alembic.ini);
* offline (``alembic upgrade head --sql``): SQL is emitted for ``sqlalchemy.url``.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from bot.storage.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata

# Only configure logging when run from alembic.ini (CLI); never when the bot
# calls us programmatically.
if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = None
    if config.config_file_name is not None:
        url = os.environ.get("DATABASE_URL")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: set sqlalchemy.url or DATABASE_URL")
    return url


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    # Migrations must not import application types: render our UTC wrapper
    # as the plain column type it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure_kwargs() -> dict:
    return {
        "target_metadata": target_metadata,
        "render_item": _render_item,
        # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
        "render_as_batch": True,
        "compare_type": True,
    }


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_configure_kwargs(),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, **_configure_kwargs())
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    from bot.storage.migrate import migration_engine

    engine = migration_engine(_url())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
