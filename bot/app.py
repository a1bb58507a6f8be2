"""Service wiring: builds the engine, knowledge and database at start-up and runs the service."""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TextIO

from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import passwords
from bot.config import Settings
from bot.outbox import ChannelSender, QuietHours, Sender, SenderPolicy
from handlers.context import Services
from handlers.engine import Engine
from handlers.i18n import Texts
from knowledge.categories import load_categories
from knowledge.classifier import INTENT_EXAMPLES, IntentModel
from knowledge.crisis import CrisisScreen
from knowledge.crisis_model import MAX_TYPED_CHARS, CrisisModel, load_corpus, ordinary_messages
from knowledge.data import load_yaml
from knowledge.faq import KnowledgeError, load_entries
from knowledge.grids import GridMap
from knowledge.hotlines import load_hotlines
from knowledge.moderation import WordFilter
from knowledge.places import load_places
from knowledge.retrieval import Analyzer, FaqIndex
from knowledge.router import Router
from knowledge.workdays import WorkCalendar
from storage import db, migrate, staff, state
from storage.clock import Clock

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel
    from bot.channels.wechat import WeChatChannel


def typed_phrases(texts: Texts) -> list[str]:
    """Button labels and other short texts of the resident catalogue, which residents type
    back: ordinary talk for the crisis model (the crisis and screener texts excepted)."""
    return [
        text
        for key, text in texts.phrases(max_chars=MAX_TYPED_CHARS)
        if not key.startswith(("crisis.", "screener."))
    ]


def build_services(settings: Settings) -> Services:
    """Load the text catalogue and the knowledge files once (raises KnowledgeError, naming
    the file, entry and reason, when one is bad)."""
    texts = Texts.load()
    crisis = CrisisScreen.load()
    corpus = load_corpus()
    if corpus:  # the learned detector beside the lexicon, trained on the team's corpus
        typed = typed_phrases(texts)
        crisis.model = CrisisModel.train([*corpus, *ordinary_messages(typed=typed)], crisis.prepare)
    places = load_places(settings.knowledge_dir)
    entries = load_entries(settings.knowledge_dir, offices=places.offices)
    analyzer = Analyzer.load(settings.knowledge_dir)
    examples = load_yaml(INTENT_EXAMPLES.read_text("utf-8"))
    return Services(
        texts=texts,
        router=Router.load(crisis=crisis),
        crisis=crisis,
        hotlines=tuple(load_hotlines()),
        places=places,
        faq=FaqIndex(entries, analyzer),
        intents=IntentModel.train(examples, tokenize=analyzer.words),
        categories=load_categories(settings.knowledge_dir),
        grids=GridMap.load(settings.knowledge_dir),
        calendar=WorkCalendar.load(settings.knowledge_dir, tz=settings.tz),
        timezone=settings.tz,
        retention_days=(settings.retention_days, settings.sensitive_retention_days),
        moderation=WordFilter.load(settings.knowledge_dir),
    )


@dataclass
class Runtime:
    """Everything the running service holds: settings, database, engine, and the one clock
    every part of it asks for the time."""

    settings: Settings
    database: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    engine: Engine
    secret_key: str
    clock: Clock
    channels: list[ChannelSender] = field(default_factory=list)

    @property
    def services(self) -> Services:
        """Knowledge and texts shared by every feature."""
        return self.engine.services

    async def close(self) -> None:
        """Release the database connections."""
        await self.database.dispose()


async def build_runtime(
    settings: Settings,
    *,
    upgrade: bool = True,
    services: Services | None = None,
    clock: Clock | None = None,
) -> Runtime:
    """Connect to the database (migrating it unless told not to) and build the engine, all on
    one clock (the real time unless one is given)."""
    clock = clock or Clock()
    database = db.create_engine(settings.database_url, clock=clock)
    if upgrade:
        await migrate.upgrade(database)
    sessions = db.session_factory(database)
    if settings.secret_key is not None:
        secret_key = settings.secret_key.get_secret_value()
    else:
        # Shared through the database so every worker signs cookies with the same key.
        async with sessions.begin() as session:
            secret_key = await state.get_or_create(
                session, "secret_key", lambda: secrets.token_urlsafe(48)
            )
    engine = Engine(
        sessions,
        services or build_services(settings),
        clock=clock,
        crisis_reply_within=settings.crisis_reply_seconds,
    )
    return Runtime(settings, database, sessions, engine, secret_key, clock)


async def ensure_first_admin(runtime: Runtime, announce: Callable[[str], None]) -> None:
    """On a first start with no staff, create `admin` with a one-time password shown once."""
    async with runtime.sessions() as session:
        if await staff.count_staff(session) > 0:
            return
    password = passwords.one_time_password()
    try:
        async with runtime.sessions.begin() as session:
            await staff.create_staff(
                session,
                username="admin",
                role="admin",
                password_hash=passwords.hash_password(password),
                must_change_password=True,
                now=runtime.clock(),
            )
    except IntegrityError:
        return  # another worker created it first
    announce(
        "Created the first staff account 'admin' with the one-time password "
        f"{password}\nIt is shown only now; it must be changed at the first login."
    )


async def reload_knowledge(runtime: Runtime) -> bool:
    """Re-read the knowledge files (SIGHUP); a bad file is reported (file, entry, reason) and
    the service keeps answering from the last good knowledge."""
    try:
        services = await asyncio.to_thread(build_services, runtime.settings)
    except (KnowledgeError, ValueError, OSError) as exc:
        log.error("knowledge not reloaded, still serving the previous version: %s", exc)
        return False
    runtime.engine.services = services
    log.info("knowledge reloaded: %d FAQ entries", len(services.faq.entries))
    return True


async def _drain_rescues(runtime: Runtime, seconds: float = 10.0) -> None:
    """Give crisis alerts still waiting for the database a last chance before exiting."""
    if not runtime.engine.rescues_pending:
        return
    try:
        await asyncio.wait_for(runtime.engine.drain(), timeout=seconds)
    except TimeoutError:
        log.critical(
            "stopping with %d crisis alert(s) not stored: check the crisis log above",
            runtime.engine.rescues_pending,
        )


def create_web_app(
    runtime: Runtime,
    telegram: TelegramChannel | None = None,
    wechat: WeChatChannel | None = None,
) -> web.Application:
    """The aiohttp application: the resident chat page, its API, the health check, in
    webhook mode the Telegram webhook, and the WeChat endpoint when that channel is on."""
    from bot.channels import web as web_channel

    app = web.Application(
        client_max_size=web_channel.MAX_BODY_BYTES, middlewares=[web_channel.security_headers]
    )
    web_channel.setup(app, runtime)
    from bot import metrics

    metrics.setup(app, runtime)  # GET /metrics: loopback only, or with LINLI_METRICS_TOKEN
    from bot import api

    api.setup(app, runtime)  # the REST API at /api/v1
    from bot import dashboard
    from bot.dashboard.photos import PhotoSource, TelegramPhotos, WeChatPhotos

    # The staff dashboard at /staff; residents' photos reach it through their channel (the
    # bot, the WeChat API), never through a URL with a token.
    photos: list[PhotoSource] = []
    if telegram is not None:
        photos.append(TelegramPhotos(telegram.app.bot))
    if wechat is not None and wechat.api is not None:
        photos.append(WeChatPhotos(wechat.api))
    dashboard.setup(app, runtime, photos=photos)
    if telegram is not None and telegram.webhook:
        telegram.routes(app)
    if wechat is not None:
        wechat.routes(app)
    return app


def start_telegram(runtime: Runtime) -> TelegramChannel | None:
    """The Telegram channel when a token is set; its outbox senders join the runtime."""
    if runtime.settings.telegram_token is None:
        return None
    from bot.channels.telegram import Pacer, StaffChatSender, TelegramChannel, TelegramSender

    channel = TelegramChannel(runtime)
    pacer = Pacer(runtime.clock.monotonic)  # one budget for the bot, whoever sends
    runtime.channels.append(TelegramSender(channel.app.bot, pacer))
    if runtime.settings.staff_chat_id is not None:
        runtime.channels.append(StaffChatSender(channel.app.bot, runtime, pacer))
    return channel


def start_wechat(runtime: Runtime) -> WeChatChannel | None:
    """The WeChat channel when its token and app id are set; its outbox sender joins."""
    if not runtime.settings.wechat_enabled:
        return None
    from bot.channels import wechat_api
    from bot.channels.wechat import WeChatChannel
    from bot.channels.wechat_sender import WeChatSender

    api = wechat_api.from_settings(runtime.settings, runtime.sessions, runtime.clock)
    runtime.channels.append(WeChatSender(api, runtime.sessions, clock=runtime.clock.monotonic))
    return WeChatChannel(runtime, api)


def sender_policy(settings: Settings) -> SenderPolicy:
    """The outbox sender's manners from the settings: quiet hours and the claim lease."""
    quiet = (
        None
        if settings.quiet_hours == "off"
        else QuietHours.parse(settings.quiet_hours, settings.tz)
    )
    lease = timedelta(seconds=settings.outbox_lease_seconds)
    # A hand-over must end well inside the lease: the rest is the margin against a slow one.
    return SenderPolicy(quiet=quiet, lease=lease, send_timeout=lease * 0.4)


async def serve(settings: Settings, *, role: str, out: TextIO, clock: Clock) -> None:
    """Run the service on `clock` until Ctrl-C or SIGTERM, then stop cleanly."""
    runtime = await build_runtime(settings, clock=clock)
    from bot.logs import log_update

    runtime.engine.observers.append(log_update)  # one log line per update, without its text
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task[bool]] = set()

    def reload() -> None:
        task = asyncio.create_task(reload_knowledge(runtime))
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload)
    runner: web.AppRunner | None = None
    scheduler: Any = None
    workers: list[asyncio.Task[None]] = []
    receives = role in ("all", "web")  # residents' updates: web chat and Telegram
    sends = role in ("all", "scheduler")  # the outbox sender and the scheduled sweeps
    telegram = start_telegram(runtime)  # a scheduler needs the bot to send, not to receive
    wechat = start_wechat(runtime)
    try:
        await ensure_first_admin(runtime, lambda text: print(text, file=out, flush=True))
        if receives:
            runner = web.AppRunner(create_web_app(runtime, telegram, wechat), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, settings.http_host, settings.http_port)
            await site.start()
            url = f"http://{settings.http_host}:{settings.http_port}"
            print(
                f"Linli is running: chat at {url}/ , staff dashboard at {url}/staff"
                "  (Ctrl-C stops)",
                file=out,
                flush=True,
            )
        if telegram is not None and receives:
            await telegram.start()
            mode = "webhook" if telegram.webhook else "long polling"
            print(f"Telegram: @{telegram.bot_username} ({mode})", file=out, flush=True)
        elif telegram is not None:
            await telegram.app.initialize()
        if wechat is not None and receives:
            mode = "safe mode" if wechat.safe_mode else "plain mode"
            print(f"WeChat: messages at {wechat.path} ({mode})", file=out, flush=True)
        if sends:
            from bot.scheduler import build_scheduler

            scheduler = build_scheduler(runtime)
            scheduler.start()
            if runtime.channels:
                sender = Sender(
                    runtime.sessions,
                    runtime.channels,
                    policy=sender_policy(settings),
                    clock=runtime.clock,
                )
                workers.append(asyncio.create_task(sender.run(stop)))
        log.info("serving role=%s database=%s", role, settings.database_url_safe)
        await stop.wait()
    finally:
        stop.set()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        for worker in workers:
            await worker
        if telegram is not None:
            await telegram.stop()
        if runner is not None:
            await runner.cleanup()
        if wechat is not None:  # after the web app: turns still running queue their replies
            await wechat.stop()
        await _drain_rescues(runtime)
        await runtime.close()
        print("Linli stopped.", file=out, flush=True)
