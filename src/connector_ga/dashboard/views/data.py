"""The data page (`/data`): ingested files, rejects with file and line, duplicates, and
the days without data of each connector."""

from __future__ import annotations

import datetime as dt

from ..pages import Page, render
from ..state import Fleet


def ranges(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (first, last) runs."""
    out: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if out and day == out[-1][1] + dt.timedelta(days=1):
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def page(fleet: Fleet, links) -> Page:
    duplicates = sum(f["duplicates"] for f in fleet.files)
    missing = {n: d for n, d in fleet.days_without_data.items() if d}
    data = {
        "schema": "connector-ga/dashboard-data/v1",
        "store_version": fleet.version,
        "as_of": fleet.as_of,
        "files": fleet.files,
        "rows": sum(f["rows"] for f in fleet.files),
        "rejected": sum(f["rejected"] for f in fleet.files),
        "duplicates": duplicates,
        "rejects_total": fleet.rejects_total,
        "rejects": fleet.rejects,
        "days_without_data": fleet.days_without_data,
    }
    html = render(
        "data.html.j2",
        links,
        title="Data",
        json_href=links.data(json=True),
        nav="data",
        d=data,
        missing=[(n, len(days), ranges(days)) for n, days in sorted(missing.items())],
        connectors=len(fleet.names),
        store_version=fleet.version,
    )
    return Page(html, data)
