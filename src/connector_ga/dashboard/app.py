"""The application factory: `create_app(options)` builds a FastAPI app over one store, so
each caller (the CLI, each test) has its own, with its own cache.

Every route only reads: the store is opened read-only, and the one thing a request can set
is the session cookie of `/login`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import InputError
from .auth import COOKIE, authorized, session_value
from .links import LiveLinks
from .pages import CSP_HEADER, Page, error_page, warm
from .state import Dashboard, Options
from .views import connector, criterion, data, fleet, login, requests

EARLIEST, LATEST = dt.date(1970, 2, 1), dt.date(9998, 1, 1)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP_HEADER,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


# Nothing about the store: not its name, its connectors, nor its version.
UNAUTHORIZED = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>401 Unauthorized'
    "</title></head><body><h1>401 Unauthorized</h1><p>This dashboard needs its token: "
    '<a href="/login">sign in</a>, or send <code>Authorization: Bearer TOKEN</code>.</p>'
    "</body></html>\n"
)


def parse_day(value: str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"as_of={value}: expected a date such as 2026-11-20") from None
    if not EARLIEST <= day <= LATEST:
        raise InputError(f"as_of={value}: expected a date between {EARLIEST} and {LATEST}")
    return day


def create_app(
    options: Options,
    *,
    token: str | None = None,
    log: Callable[[str], None] | None = None,
    poll_seconds: float | None = None,
) -> FastAPI:
    """The dashboard over `options.store`. With `token`, every request needs it. `log`
    hears one line per request; `poll_seconds` has a thread look for a new store version
    that often and compute it before anyone asks (the CLI's server does)."""
    dashboard = Dashboard(options)
    links = LiveLinks()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.dashboard = dashboard
    stop = threading.Event()

    @app.on_event("startup")
    def warm_up() -> None:  # the first connector page need not start the chart engine
        threading.Thread(target=warm, name="connector-ga-warm", daemon=True).start()

    if poll_seconds:

        def poll() -> None:
            while not stop.is_set():
                try:
                    dashboard.refresh()
                except Exception as exc:  # the next request says it, in one line
                    if log:
                        log(f"store not readable: {_one_line(exc)}")
                stop.wait(poll_seconds)

        @app.on_event("startup")
        def start_polling() -> None:
            threading.Thread(target=poll, name="connector-ga-poll", daemon=True).start()

        @app.on_event("shutdown")
        def stop_polling() -> None:
            stop.set()

    @app.middleware("http")
    async def guard(request: Request, call_next):
        started = time.perf_counter()
        if token and request.url.path != "/login":
            if not authorized(
                token, request.headers.get("authorization"), request.cookies.get(COOKIE)
            ):
                response = HTMLResponse(UNAUTHORIZED, 401, headers={"WWW-Authenticate": "Bearer"})
                return _finish(request, response, started)
        response = await call_next(request)
        return _finish(request, response, started)

    def _finish(request: Request, response: Response, started: float) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if log:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            ms = (time.perf_counter() - started) * 1000
            client = request.client.host if request.client else "-"
            log(f"{client} {request.method} {path} {response.status_code} {ms:.0f} ms")
        return response

    def answer(make: Callable[[], Page], json: bool | Callable[[], bool]) -> Response:
        try:
            page = make()
        except InputError as exc:
            page = error_page(links, 400, exc.message)
        except LookupError as exc:
            page = error_page(links, 404, str(exc.args[0]) if exc.args else "not found")
        except Exception as exc:
            if log:
                log(f"error: {_one_line(exc)}")
            page = error_page(links, 500, f"the page could not be computed: {_one_line(exc)}")
        if json() if callable(json) else json:
            return Response(page.json(), page.status, media_type="application/json")
        return HTMLResponse(page.html, page.status)

    def fleet_page(request: Request, json: bool) -> Response:
        q = request.query_params

        def make() -> Page:
            sort, verdict, text = q.get("sort") or None, q.get("verdict") or None, q.get("q")
            fleet.check_params(sort, verdict)
            key = ("fleet", sort, verdict, text)
            return dashboard.cached(key, lambda f: fleet.page(f, links, sort, verdict, text))

        return answer(make, json)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> Response:
        return fleet_page(request, json=False)

    @app.get("/index.json")
    def index_json(request: Request) -> Response:
        return fleet_page(request, json=True)

    @app.get("/c/{rest:path}")
    def connector_or_criterion(rest: str, request: Request) -> Response:
        as_of_text = request.query_params.get("as_of")
        wants_json = rest.endswith(".json")

        def make() -> Page:
            nonlocal wants_json
            name, cid, wants_json = _resolve(rest, set(dashboard.fleet().names))
            if name is None:
                raise LookupError(f"no connector '{rest}' in the store")
            if cid is not None:
                return dashboard.cached(
                    ("criterion", name, cid), lambda f: criterion.page(f, links, name, cid)
                )
            day = parse_day(as_of_text)
            return dashboard.cached(
                ("connector", name, day),
                lambda f: connector.page(f, dashboard.ledger(), links, name, day),
            )

        return answer(make, lambda: wants_json)

    @app.get("/requests", response_class=HTMLResponse)
    def requests_page() -> Response:
        return answer(lambda: _requests(), json=False)

    @app.get("/requests.json")
    def requests_json() -> Response:
        return answer(lambda: _requests(), json=True)

    def _requests() -> Page:
        return dashboard.cached(
            ("requests",), lambda f: requests.page(f, dashboard.ledger(), links)
        )

    @app.get("/data", response_class=HTMLResponse)
    def data_page() -> Response:
        return answer(lambda: dashboard.cached(("data",), lambda f: data.page(f, links)), False)

    @app.get("/data.json")
    def data_json() -> Response:
        return answer(lambda: dashboard.cached(("data",), lambda f: data.page(f, links)), True)

    @app.get("/login", response_class=HTMLResponse)
    def login_form() -> HTMLResponse:
        return HTMLResponse(login.form(links))

    @app.post("/login")
    async def login_submit(request: Request) -> Response:
        body = (await request.body()).decode("utf-8", "replace")
        given = (parse_qs(body).get("token") or [""])[0]
        if not token:
            return RedirectResponse("/", 303)
        if not authorized(token, f"Bearer {given}", None):
            return HTMLResponse(login.form(links, "That is not the token."), 401)
        response = RedirectResponse("/", 303)
        response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "no such page" if exc.status_code == 404 else str(exc.detail)
        page = error_page(links, exc.status_code, message)
        return HTMLResponse(page.html, exc.status_code)

    return app


def _resolve(rest: str, names: set[str]) -> tuple[str | None, str | None, bool]:
    """`/c/…` as (connector, criterion or None, JSON twin?): a connector's page or twin,
    or one of its criteria's. Connector ids may hold '/' or end in '.json': exact ids win."""
    if rest in names:
        return rest, None, False
    twin = rest.endswith(".json")
    bare = rest[: -len(".json")] if twin else rest
    if bare in names:
        return bare, None, twin
    head, _, tail = bare.rpartition("/")
    if head in names and tail:
        return head, tail, twin
    return None, None, twin


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
