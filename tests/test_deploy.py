"""The deployment recipe (`deploy/`, `docs/deploy.md`) holds together: the systemd units and
the nginx configuration are well formed, every `linli` command they and the guide use
exists, the env file example names real settings, and the backup script's dump restores."""

from __future__ import annotations

import asyncio
import configparser
import os
import re
import shlex
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, make_url, select, text

from bot.cli import _parser
from bot.config import Settings
from storage import db
from storage.models import Resident

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").iterdir())
NGINX = DEPLOY / "nginx" / "linli.conf"
GUIDE = ROOT / "docs" / "deploy.md"
LINLI = "/opt/linli/.venv/bin/linli"


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(path.read_text("utf-8"))
    return parser


def _linli_args(command: str) -> list[str]:
    words = shlex.split(command)
    assert Path(words[0]).name == "linli", command
    return words[1:]


def test_units_are_well_formed_and_run_real_commands() -> None:
    names = {path.name for path in UNITS}
    assert {"linli-web@.service", "linli-scheduler.service", "linli.target"} <= names
    for path in UNITS:
        unit = _unit(path)
        assert unit.has_section("Unit") and unit["Unit"].get("Description"), path.name
        if path.suffix == ".service":
            service = unit["Service"]
            assert service["User"] == "linli" and service["NoNewPrivileges"] == "yes"
            assert service["EnvironmentFile"] == "/etc/linli/linli.env"
            start = service["ExecStart"]
            if start.startswith(LINLI):
                _parser().parse_args(_linli_args(start))  # the command and options exist
            else:
                assert start == "/opt/linli/deploy/linli-backup.sh"
    web = _unit(DEPLOY / "systemd" / "linli-web@.service")["Service"]
    assert web["ExecStart"] == f"{LINLI} serve --role web"
    assert "LINLI_HTTP_PORT=%i" in (DEPLOY / "systemd" / "linli-web@.service").read_text()
    scheduler = _unit(DEPLOY / "systemd" / "linli-scheduler.service")["Service"]
    assert scheduler["ExecStart"] == f"{LINLI} serve --role scheduler"
    wanted = _unit(DEPLOY / "systemd" / "linli.target")["Unit"]["Wants"].split()
    ports = sorted(int(m) for w in wanted for m in re.findall(r"linli-web@(\d+)\.service", w))
    upstream = sorted(int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+)", NGINX.read_text()))
    assert ports == upstream and len(ports) >= 2  # nginx sends to exactly the started workers
    assert "linli-scheduler.service" in wanted


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze here")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    for path in UNITS:  # the paths of the real installation do not exist here: point at sh
        body = (
            path.read_text()
            .replace(LINLI, "/bin/sh")
            .replace("/opt/linli/deploy/linli-backup.sh", "/bin/sh")
        )
        (tmp_path / path.name).write_text(body)
    (tmp_path / "linli-web@8081.service").symlink_to(tmp_path / "linli-web@.service")
    units = [str(tmp_path / n) for n in os.listdir(tmp_path) if n != "linli-web@.service"]
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    problems = [
        line for line in result.stderr.splitlines()
        if "linli" in line and "Failed to" not in line and "not found" not in line
        and "is not a member of" not in line  # the template's instance in a temp directory
    ]  # fmt: skip
    assert not problems, result.stderr


def _nginx_blocks(source: str) -> list[str]:
    """Check the nesting and the semicolons; return the directives' names."""
    source = re.sub(r"#[^\n]*", "", source)
    depth, names = 0, []
    for token in re.findall(r"[^;{}]+[;{]|}", source):
        if token == "}":
            depth -= 1
            assert depth >= 0, "unbalanced }"
            continue
        words = token.strip().split()
        assert words, token
        names.append(words[0])
        if token.endswith("{"):
            depth += 1
    assert depth == 0, "unbalanced {"
    leftover = re.sub(r"[^;{}]+[;{]|}", "", source).strip()
    assert not leftover, f"a directive without ';': {leftover!r}"
    return names


def test_the_nginx_example_is_well_formed_and_guards_the_service() -> None:
    source = NGINX.read_text("utf-8")
    names = _nginx_blocks(source)
    assert {"upstream", "server", "location", "proxy_pass", "client_max_body_size"} <= set(names)
    assert "client_max_body_size 256k;" in source  # the workers' own limit (MAX_BODY_BYTES)
    assert re.search(r"location /telegram/ \{[^}]*proxy_pass http://linli_workers;", source)
    assert re.search(r"location = /metrics \{\s*return 404;", source)
    assert "proxy_set_header X-Real-IP $remote_addr;" in source  # the web chat's rate limit
    # No rate limit in front of the chat API: the workers' limit comes after the crisis screen.
    chat_api = re.search(r"location /api/chat \{([^}]*)\}", source)
    assert chat_api is not None and "limit_req" not in chat_api[1]
    from bot.channels.web import MAX_BODY_BYTES

    assert MAX_BODY_BYTES == 256 * 1024


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed here")
def test_nginx_accepts_the_example(tmp_path: Path) -> None:
    conf = NGINX.read_text().replace("/etc/letsencrypt/live/linli.example.org/", str(tmp_path))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=t",
         "-keyout", tmp_path / "privkey.pem", "-out", tmp_path / "fullchain.pem"],
        check=True, capture_output=True,
    )  # fmt: skip
    (tmp_path / "linli.conf").write_text(conf)
    main = f"pid {tmp_path}/nginx.pid; error_log stderr; events {{}} http {{ include {tmp_path}/linli.conf; }}"  # noqa: E501
    (tmp_path / "nginx.conf").write_text(main)
    result = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_env_example_names_only_real_settings() -> None:
    known = {f"LINLI_{name.upper()}" for name in Settings.model_fields}
    lines = (DEPLOY / "linli.env.example").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]
    assert names and set(names) <= known, set(names) - known
    assert "LINLI_DATABASE_URL" in names and "LINLI_SECRET_KEY" in names


def test_every_linli_command_in_the_guide_exists() -> None:
    guide = GUIDE.read_text("utf-8")
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", guide, re.S)
    commands = [
        found.group(0).strip()
        for block in blocks
        for line in block.replace("\\\n", " ").splitlines()
        if (found := re.search(r"(/opt/linli/\.venv/bin/linli|^linli)( [^|<;&]*)", line.strip()))
    ]
    assert len(commands) >= 4
    for command in commands:
        _parser().parse_args(_linli_args(command))
    for path in re.findall(r"deploy/[\w./@-]+", guide):
        assert (ROOT / path.rstrip(".")).exists(), path


def _backup(env: dict[str, str]) -> tuple[Path, int]:
    """Run the backup script; the dump's path and permission bits."""
    done = subprocess.run(
        [str(DEPLOY / "linli-backup.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    dump = Path(done.stdout.strip())
    return dump, dump.stat().st_mode & 0o777


def _restore(libpq_url: str, dump: Path) -> None:
    subprocess.run(
        ["pg_restore", "--no-owner", "--dbname", libpq_url, str(dump)], check=True,
        capture_output=True,
    )  # fmt: skip


async def test_the_backup_script_dumps_what_pg_restore_brings_back(
    postgres_url: str, pg_base_url: str, tmp_path: Path
) -> None:
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("pg_dump/pg_restore are not installed here")
    engine = db.create_engine(postgres_url)
    async with db.session_factory(engine).begin() as session:
        session.add_all(Resident(channel="web", external_id=f"b{n}") for n in range(5))
    await engine.dispose()
    env = {**os.environ, "LINLI_DATABASE_URL": postgres_url, "LINLI_BACKUP_DIR": str(tmp_path)}
    dump, mode = await asyncio.to_thread(_backup, env)
    assert mode == 0o600  # residents' personal data: for the linli user only

    name = f"linli_restore_{uuid.uuid4().hex[:10]}"
    admin = db.create_engine(pg_base_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    restored = make_url(postgres_url).set(database=name)
    try:
        libpq = restored.set(drivername="postgresql").render_as_string(hide_password=False)
        await asyncio.to_thread(_restore, libpq, dump)
        engine = db.create_engine(restored.render_as_string(hide_password=False))
        async with db.session_factory(engine)() as session:
            count = await session.scalar(select(func.count()).select_from(Resident))
        await engine.dispose()
        assert count == 5
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()
