"""`/login`: a form that takes the token and sets the session cookie (when the dashboard
has a token). It writes nothing but the cookie."""

from __future__ import annotations

from ..pages import render


def form(links, message: str = "") -> str:
    return render(
        "login.html.j2",
        links,
        title="Sign in",
        json_href=links.fleet(json=True),
        nav="",
        message=message,
    )
