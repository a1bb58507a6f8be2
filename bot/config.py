"""The one settings object: every `LINLI_*` environment variable, typed and validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///linli.db"


class Settings(BaseSettings):
    """Service configuration read once at start-up; secrets never appear in repr or logs."""

    model_config = SettingsConfigDict(
        env_prefix="LINLI_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
    telegram_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org/bot"
    staff_chat_id: int | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    secret_key: SecretStr | None = None
    timezone: str = "Asia/Shanghai"
    knowledge_dir: Path | None = None
    # The WeChat Official Account (公众号) channel: on when the token and the app id are set.
    wechat_token: SecretStr | None = None
    wechat_appid: str | None = None
    wechat_secret: SecretStr | None = None
    wechat_aes_key: SecretStr | None = None  # EncodingAESKey: safe mode (安全模式) when set
    wechat_api_base: str = "https://api.weixin.qq.com"
    # Residents' night (local time), when only what cannot wait reaches them; "off" for none.
    quiet_hours: str = Field(default="21:30-08:00", pattern=r"^(\d{2}:\d{2}-\d{2}:\d{2}|off)$")
    # How long an outbox sender's claim lasts; after a crash its rows wait this long.
    outbox_lease_seconds: float = Field(default=15.0, ge=2.0, le=600.0)
    # The longest a crisis reply waits for the database before it goes out anyway.
    crisis_reply_seconds: float = Field(default=0.4, gt=0.0, le=10.0)
    # Minutes between runs of each scheduled job, overriding the defaults; 0 turns one off.
    # E.g. LINLI_SCHEDULE='{"senior_check_ins": 5, "send_due_broadcasts": 1}'.
    schedule: dict[str, int] = Field(default_factory=dict)
    retention_days: int = Field(default=365, ge=1)  # closed tickets, then anonymised
    sensitive_retention_days: int = Field(default=180, ge=1)  # crisis and counselling tickets
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line
    # GET /metrics: without a token only loopback callers not coming through the proxy.
    metrics_token: SecretStr | None = None
    # The web chat's per-client limit (a resident's cookie, else the address): messages per
    # minute on average and the burst allowed at once; 0 turns the limit off.
    web_rate_per_minute: int = Field(default=20, ge=0)
    web_rate_burst: int = Field(default=10, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("wechat_aes_key")
    @classmethod
    def _valid_aes_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) != 43:
            raise ValueError("LINLI_WECHAT_AES_KEY (EncodingAESKey) must be 43 characters")
        return value

    @model_validator(mode="after")
    def _wechat_complete(self) -> Settings:
        if self.wechat_enabled and self.wechat_secret is None:
            raise ValueError("the WeChat channel needs LINLI_WECHAT_SECRET (AppSecret) too")
        return self

    @property
    def wechat_enabled(self) -> bool:
        """Whether the WeChat Official Account channel is on (token and app id set)."""
        return self.wechat_token is not None and bool(self.wechat_appid)

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: str) -> str:
        url = make_url(value)
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("LINLI_DATABASE_URL must be SQLite or PostgreSQL")
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The community's time zone (quiet hours, deadlines, schedules)."""
        return ZoneInfo(self.timezone)

    @property
    def database_url_safe(self) -> str:
        """The database URL with any password masked, for logs."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Settings:
        """Build settings from plain values only (tests): no environment, no `.env`."""
        return _MappingSettings(**values)


class _MappingSettings(Settings):
    """Settings that ignore the environment and `.env`, so tests are isolated from the host."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)
