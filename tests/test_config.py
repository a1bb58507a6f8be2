"""Settings: environment variables, defaults, validation, and secrets kept out of sight."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings


def test_defaults_match_the_documented_interface() -> None:
    settings = Settings.from_mapping({})
    assert settings.database_url == "sqlite+aiosqlite:///linli.db"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.timezone == "Asia/Shanghai"


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LINLI_HTTP_PORT", "9090")
    monkeypatch.setenv("LINLI_STAFF_CHAT_ID", "-100123")
    monkeypatch.setenv("LINLI_TELEGRAM_TOKEN", "123:ABC")
    settings = Settings()
    assert settings.http_port == 9090 and settings.staff_chat_id == -100123
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == "123:ABC"


def test_dot_env_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LINLI_TIMEZONE=Asia/Hong_Kong\n")
    assert Settings().timezone == "Asia/Hong_Kong"


def test_secrets_never_show_in_repr() -> None:
    settings = Settings.from_mapping(
        {
            "telegram_token": "123456:SECRET-TOKEN",
            "secret_key": "cookie-signing-key",
            "webhook_secret": "hook-secret",
            "database_url": "postgresql+asyncpg://linli:db-password@db/linli",
        }
    )
    shown = repr(settings) + str(settings)
    for secret in ("SECRET-TOKEN", "cookie-signing-key", "hook-secret", "db-password"):
        assert secret not in shown
    assert "db-password" not in settings.database_url_safe


@pytest.mark.parametrize(
    "values",
    [{"timezone": "Mars/Olympus"}, {"http_port": 0}, {"database_url": "mysql://x/y"}],
)
def test_bad_values_are_rejected(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Settings.from_mapping(values)
