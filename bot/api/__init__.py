"""The REST API at /api/v1: token-authenticated JSON for tickets, topics, surveys and
statistics, an Open311 GeoReport v2 export, and the OpenAPI document that describes it all."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.api import figures, hall, open311, tickets
from bot.api.base import RUNTIME, Call, endpoint, json_errors, ok
from knowledge.data import load_yaml

if TYPE_CHECKING:
    from bot.app import Runtime

PREFIX = "/api/v1"
OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")
DOCUMENT: web.AppKey[dict[str, Any]] = web.AppKey("openapi_document")


def create(runtime: Runtime) -> web.Application:
    """The API as an application of its own, to mount at PREFIX."""
    api = web.Application(middlewares=[json_errors])
    api[RUNTIME] = runtime
    api[DOCUMENT] = load_yaml(OPENAPI_FILE)
    api.router.add_get("/openapi.json", openapi, allow_head=False)
    api.router.add_get("/me", me, allow_head=False)
    tickets.routes(api.router)
    hall.routes(api.router)
    figures.routes(api.router)
    open311.routes(api.router)
    return api


def setup(app: web.Application, runtime: Runtime) -> None:
    """Mount the API under /api/v1 of the service's web app."""
    app.add_subapp(PREFIX, create(runtime))


async def openapi(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API (no token needed)."""
    return ok(request.app[DOCUMENT])


@endpoint
async def me(call: Call) -> web.Response:
    """The staff member the token belongs to, with their role."""
    staff = call.staff
    return ok(
        {
            "id": staff.id,
            "username": staff.username,
            "display_name": staff.display_name,
            "role": staff.role,
            "grid": staff.grid,
        }
    )
