"""Alembic environment: runs migrations on a connection handed over by `storage.migrate`,
or on `LINLI_DATABASE_URL` when invoked through the `alembic` command."""

from __future__ import annotations

import asyncio
import os
import warnings

from alembic import context
from sqlalchemy.engine import Connection

from storage.db import create_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _include(
    item: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # Indexes only a migration knows (PostgreSQL trigram indexes for text search, 0011; the
    # ticket list order, 0013) are not in the models; autogenerate must not drop them.
    migration_only = (name or "").endswith("_trgm") or name == "ix_tickets_list_order"
    return not (type_ == "index" and reflected and migration_only)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include,
    )
    with context.begin_transaction(), warnings.catch_warnings():
        # SQLite cannot reflect the expression index of 0013; it is migration-only anyway.
        warnings.filterwarnings(
            "ignore", message="Skipped unsupported reflection of expression-based index"
        )
        context.run_migrations()


async def _run_from_url(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(
        "LINLI_DATABASE_URL", "sqlite+aiosqlite:///linli.db"
    )
    asyncio.run(_run_from_url(url))
