"""The requests page (`/requests`): the GA request ledger across connectors — drafted,
sent, the decision expected, and whether the evidence changed since."""

from __future__ import annotations

from typing import Any

from ...ledger import LedgerEntry
from ...request import compare_evidence
from ..pages import Page, render
from ..state import Fleet


def entry_json(e: LedgerEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "connector": e.connector,
        "state": e.state,
        "drafted_at": e.drafted_at,
        "sent_at": e.sent_at,
        "verdict": e.verdict,
        "as_of": e.as_of,
        "decision_expected": e.decision_expected,
        "recipient": e.recipient,
        "subject": e.subject,
    }


def page(fleet: Fleet, entries: list[LedgerEntry], links) -> Page:
    latest: dict[str, LedgerEntry] = {}
    for e in entries:  # oldest first: the last one of a connector is its state
        latest[e.connector] = e
    rows = []
    for name in sorted(latest):
        e = latest[name]
        row = entry_json(e)
        current = fleet.results.get(name)
        if current is None:
            row["evidence_changed"], row["changes"] = None, ["not in the store any more"]
        else:
            change = compare_evidence(e, current)
            row["evidence_changed"] = change.changed
            row["changes"] = change.lines
        row["href"] = links.connector(name) if current is not None else None
        rows.append(row)
    data = {
        "schema": "connector-ga/dashboard-requests/v1",
        "store_version": fleet.version,
        "as_of": fleet.as_of,
        "requests": [{k: v for k, v in r.items() if k != "href"} for r in rows],
        "ledger": [entry_json(e) for e in entries],
    }
    html = render(
        "requests.html.j2",
        links,
        title="GA requests",
        json_href=links.requests(json=True),
        nav="requests",
        rows=rows,
        entries=[entry_json(e) for e in entries],
        as_of=fleet.as_of,
        store_version=fleet.version,
    )
    return Page(html, data)
