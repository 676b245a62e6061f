"""The connector page (`/c/{id}`, `?as_of=`): what the HTML report shows, plus the
readiness timeline, the forecast, the fix plan, the burn-rate alerts and the requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ...ledger import LedgerEntry
from ...outputs import html_report, wording
from ..links import file_key
from ..pages import Page, iso_time, render
from ..state import Fleet
from .requests import entry_json


def page(
    fleet: Fleet, entries: list[LedgerEntry], links, name: str, as_of: dt.date | None = None
) -> Page:
    view = fleet.view(name, as_of)
    result, history = view.result, view.history
    latest = as_of is None or as_of == fleet.as_of
    watch = fleet.watches.get(name) if latest else None
    mine = [e for e in entries if e.connector == name]
    alerts = None
    if watch is not None:
        b = watch.budget
        alerts = {
            "at": watch.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "rows": [
                {
                    "name": a.alert.name,
                    "severity": a.alert.severity,
                    "factor": a.alert.factor,
                    "burn_long": f"{float(a.burn_long):.2f}",
                    "burn_short": f"{float(a.burn_short):.2f}",
                    "firing": a.firing,
                }
                for a in watch.alerts
            ],
            "remaining": wording.count(b.remaining),
            "exhausted_1h": iso_time(b.exhausted_at_1h) or "not at this burn",
            "exhausted_1d": iso_time(b.exhausted_at_1d) or "not at this burn",
        }
    data: dict[str, Any] = {
        "schema": "connector-ga/dashboard-connector/v1",
        "connector": name,
        "as_of": result.as_of,
        "store_version": fleet.version,
        # Exactly `connector-ga check --connector ID [--as-of D] --json -`.
        "result": result.to_json_dict(),
        # Exactly `connector-ga history --connector ID --to D --days 90 --json -`.
        "history": history.to_json_dict(),
        # `connector-ga watch --connector ID --json -` (alerts of the latest day only).
        "watch": watch.to_json_dict() if watch else None,
        "requests": [entry_json(e) for e in mine],
        "days_without_data": fleet.days_without_data.get(name, []),
    }
    html = lambda: render(  # noqa: E731 - rendered when first asked for
        "connector.html.j2",
        links,
        title=f"GA readiness evidence — {wording.name(result)}",
        json_href=links.connector(name, as_of if not latest else None, json=True),
        nav="fleet",
        c=html_report.connector_context(result, file_key(name).lower(), history),
        r=result,
        fleet=False,
        name=name,
        as_of=result.as_of,
        latest=latest,
        alerts=alerts,
        requests=[entry_json(e) for e in mine],
        missing=fleet.days_without_data.get(name, []),
        criteria=[(c.id, wording.title(c.id), c.status) for c in result.criteria],
        store_version=fleet.version,
    )
    return Page(html, data)
