"""Where each page is: root-absolute paths for the live app, relative file names for the
static site (so it opens from the file system and from any static host)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from urllib.parse import quote, urlencode

FLEET_PARAMS = ("sort", "verdict", "q")
_SAFE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}")


def file_key(connector: str) -> str:
    """A connector's file name in the static site: its id when that is a plain name, else
    a slug and a hash of the id (ids come from telemetry: '../x', '<b>', 'a/b')."""
    if _SAFE_KEY.fullmatch(connector):
        return connector
    slug = re.sub(r"[^A-Za-z0-9]+", "-", connector).strip("-")[:40] or "connector"
    return f"{slug}-{hashlib.sha256(connector.encode('utf-8')).hexdigest()[:10]}"


class LiveLinks:
    """Links of the running app."""

    site = False

    def fleet(self, json: bool = False, **params) -> str:
        query = {k: v for k, v in params.items() if v}
        return ("/index.json" if json else "/") + (f"?{urlencode(query)}" if query else "")

    def connector(self, name: str, as_of: dt.date | None = None, json: bool = False) -> str:
        path = "/c/" + quote(name, safe="") + (".json" if json else "")
        return path + (f"?as_of={as_of.isoformat()}" if as_of else "")

    def criterion(self, name: str, criterion: str, json: bool = False) -> str:
        return (
            "/c/"
            + quote(name, safe="")
            + "/"
            + quote(criterion, safe="")
            + (".json" if json else "")
        )

    def requests(self, json: bool = False) -> str:
        return "/requests.json" if json else "/requests"

    def data(self, json: bool = False) -> str:
        return "/data.json" if json else "/data"


class SiteLinks:
    """Links of the static site, relative to the page they are on (`depth` folders down)."""

    site = True

    def __init__(self, depth: int = 0) -> None:
        self.up = "../" * depth

    @staticmethod
    def fleet_file(sort: str | None = None, verdict: str | None = None) -> str:
        parts = [f"sort-{sort}"] if sort else []
        parts += [f"verdict-{verdict}"] if verdict else []
        return "index" + "".join(f"--{p}" for p in parts)

    def fleet(self, json: bool = False, **params) -> str:
        name = self.fleet_file(params.get("sort"), params.get("verdict"))
        return self.up + name + (".json" if json else ".html")

    def connector(self, name: str, as_of: dt.date | None = None, json: bool = False) -> str:
        return self.up + "c/" + quote(file_key(name)) + (".json" if json else ".html")

    def criterion(self, name: str, criterion: str, json: bool = False) -> str:
        return (
            self.up
            + "c/"
            + quote(file_key(name))
            + "/"
            + quote(criterion)
            + (".json" if json else ".html")
        )

    def requests(self, json: bool = False) -> str:
        return self.up + ("requests.json" if json else "requests.html")

    def data(self, json: bool = False) -> str:
        return self.up + ("data.json" if json else "data.html")
