"""The Jinja2 environment over connector_ga/templates (HTML autoescaped, text verbatim)."""

from __future__ import annotations

from functools import cache

import jinja2

from . import wording


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("connector_ga", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["count"] = wording.count
    env.filters["pct"] = wording.pct
    return env


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)
