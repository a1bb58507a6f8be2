"""Shared fixtures: throwaway databases (SQLite always, PostgreSQL when configured),
the real engine on a clock pinned to a known instant, and a resident who chats with it."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import make_url, text

from bot.app import Runtime, build_runtime, build_services
from bot.config import Settings
from handlers.context import Services
from storage import db, migrate
from storage.clock import ManualClock
from tests.chat import ResidentChat
from tests.clock import START

PG_ENV = "LINLI_TEST_DATABASE_URL"
# The time-travel canary (`make canary`): the whole run as if the machine's clock said this
# instant (ISO 8601 with an offset), so a test that still reads the real time shows itself.
TRAVEL_ENV = "LINLI_TEST_TRAVEL"
TRAVEL = pytest.StashKey[time_machine.travel]()


def pytest_configure(config: pytest.Config) -> None:
    """Move this process's clock to LINLI_TEST_TRAVEL for the whole run, when it is set."""
    instant = os.environ.get(TRAVEL_ENV)
    if instant:
        at = datetime.fromisoformat(instant)
        if at.tzinfo is None:
            raise pytest.UsageError(f"{TRAVEL_ENV} needs an offset, e.g. 2027-01-01T00:10+08:00")
        travel = time_machine.travel(at, tick=True)
        travel.start()
        config.stash[TRAVEL] = travel


def pytest_unconfigure(config: pytest.Config) -> None:
    """Back to the real time."""
    travel = config.stash.get(TRAVEL, None)
    if travel is not None:
        travel.stop()


@pytest.fixture(scope="session")
def services() -> Services:  # also used by module-scoped fixtures
    """Texts and knowledge, loaded once for the whole run."""
    return build_services(Settings.from_mapping({}))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    return path


@pytest.fixture
def sqlite_url(template_db: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database for one test."""
    target = tmp_path / "linli.db"
    shutil.copy(template_db, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def runtime_url(request: pytest.FixtureRequest) -> str:
    """The database of the `runtime` fixture: SQLite, and also PostgreSQL in modules marked
    `both_databases` (parametrised by `pytest_generate_tests` below)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("sqlite_url"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the engine, outbox and scheduler tests of `both_databases` modules on both."""
    if "runtime_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_databases"
    ):
        metafunc.parametrize("runtime_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def settings(runtime_url: str) -> Settings:
    """Settings for one test, independent of the host's environment."""
    # A crisis turn waits for the database as long as it needs here, so tests read one
    # reply text; tests/bot/test_sqlite_lock.py uses the service's default.
    return Settings.from_mapping(
        {"database_url": runtime_url, "secret_key": "test-secret-key", "crisis_reply_seconds": 10}
    )


@pytest.fixture
def clock() -> ManualClock:
    """The runtime's one clock: starts at `START` and runs on; tests move it by hand."""
    return ManualClock(START)


@pytest.fixture
async def runtime(
    settings: Settings, services: Services, clock: ManualClock
) -> AsyncIterator[Runtime]:
    """The service's runtime on a throwaway database (SQLite; PostgreSQL too when the module
    is marked `both_databases`), on the test's `clock`."""
    built = await build_runtime(settings, upgrade=False, services=services, clock=clock)
    yield built
    await built.close()


@pytest.fixture
def alice(runtime: Runtime) -> ResidentChat:
    """A resident chatting through the real engine on the console channel."""
    return ResidentChat(runtime.engine, user="alice")


@pytest.fixture
def pg_base_url() -> str:
    """The PostgreSQL test database; skipped (and reported) when not configured."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set: PostgreSQL tests skipped")
    return url


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """A PostgreSQL database migrated once per run, which each test's database copies (about
    twice as fast as migrating every one); None when PostgreSQL is not configured."""
    base = os.environ.get(PG_ENV)
    if not base:
        yield None
        return
    name = f"linli_template_{uuid.uuid4().hex[:12]}"

    async def build() -> None:
        await _admin(base, f'CREATE DATABASE "{name}"')
        engine = db.create_engine(_database(base, name))
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(build())
    yield name
    asyncio.run(_admin(base, f'DROP DATABASE "{name}" WITH (FORCE)'))


async def _admin(base_url: str, statement: str) -> None:
    admin = db.create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


def _database(base_url: str, name: str) -> str:
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
async def postgres_url(pg_base_url: str, pg_template: str | None) -> AsyncIterator[str]:
    """A migrated PostgreSQL database of its own for one test, dropped afterwards."""
    name = f"linli_test_{uuid.uuid4().hex[:12]}"
    admin = db.create_engine(pg_base_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    url = _database(pg_base_url, name)
    yield url
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each storage test runs on SQLite and, when configured, on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
    else:
        yield request.getfixturevalue("postgres_url")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly when the PostgreSQL or browser part of the suite did not run, and at what
    time a time-travel run ran."""
    if os.environ.get(TRAVEL_ENV):
        terminalreporter.write_sep("=", f"time travel: ran as if it were {os.environ[TRAVEL_ENV]}")
    if not os.environ.get(PG_ENV):
        terminalreporter.write_sep(
            "!", f"PostgreSQL tests were SKIPPED: set {PG_ENV} (.ci/run does)"
        )
    if not Path("/usr/bin/chromium").exists():
        terminalreporter.write_sep(
            "!", "Browser tests were SKIPPED: apt-get install chromium (.ci/run does)"
        )
