"""`connector-ga site --out DIR`: every page of the dashboard and its JSON twin as files
with relative links, so the folder opens from the file system and from any static host.

The fleet page's sort and verdict links point at one file per combination; the name
filter and `?as_of=` need the live app and are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .links import SiteLinks, file_key
from .pages import Page
from .state import Options, build_fleet, read_state
from .views import connector, criterion, data, fleet, requests


def _write(out: Path, relative: str, page: Page) -> list[Path]:
    html = out / f"{relative}.html"
    twin = out / f"{relative}.json"
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(page.html, encoding="utf-8")
    twin.write_text(page.json(), encoding="utf-8")
    return [html, twin]


def build_site(
    options: Options,
    out: str | Path,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write the site into `out`; returns the files written. `progress` hears (done, total)
    pages."""
    out = Path(out)
    version, entries = read_state(options.store)
    f = build_fleet(options, version)
    written: list[Path] = []
    try:
        names = f.names
        criteria = {n: [c.id for c in f.results[n].criteria] for n in names}
        variants = [(s, v) for s in (None, *fleet.SORTS[1:]) for v in (None, *fleet.VERDICTS)]
        total = len(variants) + 2 + sum(1 + len(criteria[n]) for n in names)
        done = 0

        def step() -> None:
            nonlocal done
            done += 1
            if progress:
                progress(done, total)

        top = SiteLinks(0)
        for sort, verdict in variants:
            page = fleet.page(f, top, sort, verdict)
            written += _write(out, SiteLinks.fleet_file(sort, verdict), page)
            step()
        written += _write(out, "requests", requests.page(f, entries, top))
        step()
        written += _write(out, "data", data.page(f, top))
        step()
        for name in names:
            key = file_key(name)
            written += _write(out, f"c/{key}", connector.page(f, entries, SiteLinks(1), name))
            step()
            for cid in criteria[name]:
                page = criterion.page(f, SiteLinks(2), name, cid)
                written += _write(out, f"c/{key}/{cid}", page)
                step()
    finally:
        f.prepared.release()
    return written
