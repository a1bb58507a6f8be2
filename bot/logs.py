"""Service logs for operators: plain lines or one JSON object per line, scrubbed of what a
resident wrote, phone numbers and secrets before anything is written (safety.md §5)."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import phonenumbers

from handlers.engine import Handled
from handlers.types import Incoming

_updates = logging.getLogger("linli.updates")
FORMATS = ("text", "json")
MASK = "***"
# Resident text is Chinese more often than not, while every log message the service writes is
# English: any run of CJK characters that reaches a log line (an exception quoting a value, a
# knowledge entry) is masked, whatever its source.
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")
_BOT_TOKEN = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)\S+")
_SECRET_PAIR = re.compile(
    r"(?i)\b(authorization|token|secret|password|passwd|api[_-]?key|access_token)"
    r"(\"?\s*[:=]\s*\"?)([^\s\"',;&]{4,})"
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
# SQLAlchemy's "[parameters: …]" and asyncpg's "invalid input for query argument $1: '…'"
# quote the values of a failed statement, which are residents' words.
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\]\n?", re.S)
_QUERY_ARGUMENT = re.compile(r"(query argument \$\d+: ).*?( \(|$)", re.M)
# The standard attributes of a LogRecord: everything else was passed in `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def scrub(text: str) -> str:
    """`text` without resident words in Chinese, phone numbers, bot tokens, passwords in URLs
    and secrets written as `Bearer …` or `key=value`."""
    if not text:
        return text
    text = _SQL_PARAMETERS.sub("[parameters hidden]\n", text)
    text = _QUERY_ARGUMENT.sub(lambda m: m.group(1) + MASK + m.group(2), text)
    text = _BOT_TOKEN.sub(MASK, text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    text = _CJK.sub(MASK, text)
    if sum(c.isdigit() for c in text) >= 7:
        spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(text, "CN")]
        for start, end in sorted(spans, reverse=True):
            text = text[:start] + MASK + text[end:]
    return text


class TextFormatter(logging.Formatter):
    """`time level logger: message`, scrubbed."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The usual line, with the scrubbing applied to message and traceback alike."""
        copy = logging.makeLogRecord(vars(record))
        copy.msg, copy.args = scrub(record.getMessage()), None
        if record.exc_info and record.exc_info[0] is not None:
            copy.exc_text = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            copy.exc_text = scrub(record.exc_text)
        return super().format(copy)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's `extra` fields
    and, for errors, the exception type and scrubbed traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _safe(value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["traceback"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["traceback"] = scrub(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _safe(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    return scrub(str(value))


def configure(
    *, level: str = "INFO", fmt: str = "text", stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record to `stream` (stderr) in the chosen format, scrubbed; quiet the
    libraries that log URLs with the bot token or announce every routine step."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, not {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO, and Bot API URLs hold the bot token (safety.md §5);
    # Alembic announces each of its plugins and APScheduler each job run at INFO, and bm25s
    # sets its own logger to DEBUG. Our own logs say what the jobs changed.
    for noisy in ("httpx", "httpcore", "alembic", "apscheduler", "bm25s"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # SQLAlchemy echoes statements with their parameters at INFO: never below WARNING.
    logging.getLogger("sqlalchemy").setLevel(max(logging.WARNING, root.level))
    return handler


def log_update(msg: Incoming, handled: Handled, seconds: float) -> None:
    """An engine observer: one line per update with its channel, route and timing — never
    its text or who sent it."""
    _updates.info(
        "update handled",
        extra={
            "channel": msg.channel,
            "route": handled.route,
            "duplicate": handled.duplicate,
            "replies": len(handled.replies),
            "ms": round(seconds * 1000, 1),
        },
    )
