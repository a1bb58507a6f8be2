"""Migrations: the newest revision matches the models, and they go down and up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy.engine import Connection

from storage import db, migrate


def _check(connection: Connection) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    command.check(config)  # raises when the models have changes no revision contains


def _down_and_up(connection: Connection) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")
    command.upgrade(config, "heads")


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = db.create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_check)
            await connection.run_sync(_down_and_up)
            await connection.run_sync(_check)
    finally:
        await engine.dispose()
