"""`connector-ga site --out DIR`: every page of the dashboard and its JSON twin as files
with relative links, so the folder opens from the file system and from any static host.

The fleet page's sort and verdict links point at one file per combination; the name
filter and `?as_of=` need the live app and are left out.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from .links import SiteLinks, file_key
from .pages import Page
from .state import Options, build_fleet, read_state
from .views import connector, criterion, data, fleet, requests


def _write(out: Path, relative: str, page: Page, final: Path | None = None) -> list[Path]:
    html = out / f"{relative}.html"
    twin = out / f"{relative}.json"
    for path, text in ((html, page.html), (twin, page.json())):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:  # named as the page it was to replace
            from ..faults import refused_write

            shown = (final or out) / path.relative_to(out)
            raise (refused_write(OSError(exc.errno, exc.strerror), shown) or exc) from None
    return [html, twin]


def _into_place(partial: Path, out: Path, written: list[Path]) -> list[Path]:
    """The pages written into `partial` (inside `out`: the same file system) moved into
    `out`, each replacing its older copy; nothing of `out` changes before all are written."""
    placed = []
    for file in written:
        target = out / file.relative_to(partial)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, target)
        placed.append(target)
    return placed


def build_site(
    options: Options,
    out: str | Path,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Write the site into `out`; returns the files written. `progress` hears (done, total)
    pages."""
    final = Path(out)
    version, entries = read_state(options.store)
    f = build_fleet(options, version)
    written: list[Path] = []
    # Written whole beside the older pages, then moved over them: a full disk or a refused
    # write leaves the older site as it was.
    out = final / f".site.partial-{uuid.uuid4().hex[:8]}"
    created = not final.exists()
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
            written += _write(out, SiteLinks.fleet_file(sort, verdict), page, final)
            step()
        written += _write(out, "requests", requests.page(f, entries, top), final)
        step()
        written += _write(out, "data", data.page(f, top), final)
        step()
        for name in names:
            key = file_key(name)
            page = connector.page(f, entries, SiteLinks(1), name)
            written += _write(out, f"c/{key}", page, final)
            step()
            for cid in criteria[name]:
                page = criterion.page(f, SiteLinks(2), name, cid)
                written += _write(out, f"c/{key}/{cid}", page, final)
                step()
        written = _into_place(out, final, written)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        if created:  # made by this run, empty again
            shutil.rmtree(final, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(out, ignore_errors=True)
        f.prepared.release()
    return written
