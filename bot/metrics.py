"""`GET /metrics` for staff monitoring, in Prometheus text format: updates handled, reply
latency, the outbox queue, open and overdue tickets, crisis alerts. Only loopback callers
that did not come through the reverse proxy, or callers with `LINLI_METRICS_TOKEN`."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from handlers.engine import Handled
from handlers.types import Incoming
from storage import db, monitoring

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger(__name__)

PATH = "/metrics"
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
# A request with one of these came through a reverse proxy, so "from loopback" says nothing
# about who sent it.
PROXY_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """This worker's counters plus gauges read from the database at each scrape."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter(
            "linli_updates_handled", "Resident updates handled by this worker",
            ["channel", "route"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "linli_reply_seconds", "Time from an update's arrival in the engine to its replies",
            ["channel"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.crisis_turns = Counter(
            "linli_crisis_turns", "Updates answered with the crisis reply by this worker",
            ["channel"], registry=r,
        )  # fmt: skip
        self.rescues = Gauge(
            "linli_crisis_rescues_pending",
            "Crisis replies sent whose ticket and staff alert still wait for the database",
            registry=r,
        )
        self.database_up = Gauge(
            "linli_database_up", "1 when the database answered this scrape", registry=r
        )
        self.outbox = Gauge(
            "linli_outbox_messages", "Outbox rows by state (sent rows are not counted)",
            ["state"], registry=r,
        )  # fmt: skip
        self.oldest_due = Gauge(
            "linli_outbox_oldest_due_seconds",
            "How long the oldest due message has been waiting for a sender", registry=r,
        )  # fmt: skip
        self.tickets_open = Gauge(
            "linli_tickets_open", "Open tickets by kind", ["kind"], registry=r
        )
        self.tickets_overdue = Gauge(
            "linli_tickets_overdue", "Open tickets past their deadline", registry=r
        )
        self.alerts_waiting = Gauge(
            "linli_crisis_alerts_waiting",
            "Urgent staff alerts not delivered within a minute of being queued", registry=r,
        )  # fmt: skip

    def observe(self, msg: Incoming, handled: Handled, seconds: float) -> None:
        """Count one handled update (an engine observer)."""
        self.updates.labels(msg.channel, handled.route or "unknown").inc()
        if not handled.duplicate:
            self.latency.labels(msg.channel).observe(seconds)
        if handled.route == "crisis":
            self.crisis_turns.labels(msg.channel).inc()

    async def collect(self) -> bytes:
        """Read the database gauges and render everything in the text format."""
        self.rescues.set(self.runtime.engine.rescues_pending)
        try:
            async with db.reading(self.runtime.sessions) as session:
                snap = await monitoring.snapshot(session, now=self.runtime.clock())
        except Exception as exc:
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            self.database_up.set(0)
        else:
            self.database_up.set(1)
            for state, count in snap.outbox.items():
                self.outbox.labels(state).set(count)
            self.oldest_due.set(snap.oldest_due_seconds)
            self.tickets_open.clear()
            for kind, count in snap.open_tickets.items():
                self.tickets_open.labels(kind).set(count)
            self.tickets_overdue.set(snap.overdue_tickets)
            self.alerts_waiting.set(snap.crisis_alerts_waiting)
        return generate_latest(self.registry)


def allowed(request: web.Request, token: str | None) -> bool:
    """With a token: the caller must send `Authorization: Bearer <token>`. Without: only
    loopback callers that did not come through the reverse proxy."""
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    if any(header in request.headers for header in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


async def serve_metrics(request: web.Request) -> web.Response:
    """The metrics page, or 403 for anyone else."""
    metrics = request.app[METRICS]
    secret = metrics.runtime.settings.metrics_token
    if not allowed(request, secret.get_secret_value() if secret else None):
        return web.Response(status=403, text="forbidden\n")
    body = await metrics.collect()
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def setup(app: web.Application, runtime: Runtime) -> Metrics:
    """Count the runtime's updates and serve them at `/metrics` on `app`."""
    metrics = Metrics(runtime)
    runtime.engine.observers.append(metrics.observe)
    app[METRICS] = metrics
    app.router.add_get(PATH, serve_metrics)
    return metrics
