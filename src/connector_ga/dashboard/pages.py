"""What every page shares: the Page (HTML and its JSON twin), the layout's context, the
Content-Security-Policy, JSON that is inert as HTML, and the inline SVG sparklines."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

from .. import __version__
from ..outputs.templates import environment
from ..outputs.templates import render as render_template

# The pages load nothing: inline CSS and SVG only; no script; forms post to this origin.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "base-uri 'none'"
)
CSP_HEADER = CSP + "; frame-ancestors 'none'"  # not allowed in a <meta> policy


class Page:
    """A page: its HTML, and its data (the JSON twin). The HTML may be given as a function,
    rendered on first use (and once): a JSON twin never pays for the charts."""

    def __init__(self, html: str | Callable[[], str], data: Any, status: int = 200) -> None:
        self._html = html
        self.data = data
        self.status = status
        self._lock = threading.Lock()

    @property
    def html(self) -> str:
        if callable(self._html):
            with self._lock:
                if callable(self._html):
                    self._html = self._html()
        return self._html

    def json(self) -> str:
        return dumps(self.data)


def dumps(data: Any) -> str:
    """JSON whose <, > and & are escaped (\\u003c …): inert if a browser ever reads it as
    HTML. Parsed, it is the same JSON."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_default)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def warm() -> None:
    """What the first pages of a process would pay, paid at a server's start-up instead:
    the engine a watch reads its last hours with (Ibis), the chart renderer's JavaScript
    engine and the templates' compilation."""
    import importlib

    from ..outputs import charts

    importlib.import_module("connector_ga.rollups")  # a watch's burn buckets
    charts.warm()
    env = environment()
    for name in env.list_templates(filter_func=lambda name: name.endswith(".j2")):
        env.get_template(name)


def render(template: str, links, *, title: str, json_href: str, **context) -> str:
    """A dashboard page in the shared layout (the report's CSS, the site's navigation)."""
    return (
        environment()
        .get_template(f"dashboard/{template}")
        .render(
            title=title,
            links=links,
            json_href=json_href,
            csp=CSP,
            css=render_template("report.css") + render_template("dashboard/dashboard.css"),
            version=__version__,
            **context,
        )
    )


def sparkline(
    values: list[float | None], label: str, *, low: float | None = None, high: float | None = None
) -> Markup:
    """A small inline SVG line of the values (None: a gap), scaled to [low, high] (default
    the values' own range); its title names what it shows."""
    width, height, pad = 120, 24, 2
    known = [v for v in values if v is not None]
    if not known:
        return Markup('<span class="nodata">no data</span>')
    lo = min(known) if low is None else min(low, *known)
    hi = max(known) if high is None else max(high, *known)
    span = (hi - lo) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if runs[-1]:
                runs.append([])
            continue
        x = pad + i * step
        y = pad + (height - 2 * pad) * (1 - (v - lo) / span)
        runs[-1].append(f"{x:.1f},{y:.1f}")
    lines = "".join(
        f'<polyline points="{" ".join(r)}" fill="none" stroke="#1565c0" stroke-width="1.5"/>'
        if len(r) > 1
        else f'<circle cx="{r[0].split(",")[0]}" cy="{r[0].split(",")[1]}" r="1.5" fill="#1565c0"/>'
        for r in runs
        if r
    )
    return Markup(
        f'<svg class="spark" role="img" aria-label="{escape(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(label)}</title>'
        f"{lines}</svg>"
    )


def iso_time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def error_page(links, status: int, message: str) -> Page:
    """A page that says, in one line, why there is nothing to show."""
    title = {400: "Bad request", 401: "Unauthorized", 404: "Not found"}.get(status, "Error")
    html = render(
        "error.html.j2",
        links,
        title=f"{status} {title}",
        json_href=links.fleet(json=True),
        nav="",
        message=message,
    )
    return Page(html, {"error": message, "status": status}, status)
