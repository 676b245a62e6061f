"""The fleet page (`/`, `/index.json`): one row per connector, sortable and filterable by
plain links and query parameters."""

from __future__ import annotations

from typing import Any

from ...errors import InputError
from ...outputs import wording
from ..pages import Page, render, sparkline
from ..state import Fleet

VERDICTS = (
    "ready",
    "ready-with-exception",
    "ready-with-warnings",
    "not-ready",
    "insufficient-data",
)
SORTS = ("name", "verdict", "ready_on", "last_day")
SHORT = {
    "backend-production": "backend",
    "availability": "avail.",
    "slo": "SLO",
    "success-rate": "success",
    "support-model": "support",
    "weekly-active-users": "WAU",
    "monthly-active-connections": "MAC",
}
CELL = {"pass": "+", "fail": "x", "insufficient-data": "?"}


def check_params(sort: str | None, verdict: str | None) -> None:
    if sort is not None and sort not in SORTS:
        raise InputError(f"sort={sort}: expected one of {', '.join(SORTS)}")
    if verdict is not None and verdict not in VERDICTS:
        raise InputError(f"verdict={verdict}: expected one of {', '.join(VERDICTS)}")


def rows(fleet: Fleet, links) -> list[dict[str, Any]]:
    out = []
    for name in fleet.names:
        r = fleet.results[name]
        watch = fleet.watches.get(name)
        availability = fleet.daily_availability.get(name, [])
        users = fleet.weekly_users.get(name, [])
        out.append(
            {
                "connector": name,
                "href": links.connector(name),
                "verdict": r.verdict,
                "exception": r.exception,
                "criteria": {c.id: c.status for c in r.criteria},
                "blocking": list(r.blocking),
                "ready_on": r.forecast.ready_on if r.forecast else None,
                "alerts_firing": [a.alert.name for a in watch.firing] if watch else [],
                "last_day": r.metrics.last_day,
                "last_ingest": fleet.last_ingest.get(name),
                "availability_daily": [{"date": d, "value": v} for d, v in availability],
                "weekly_users": [{"week": w, "users": n} for w, n in users],
            }
        )
    return out


def _sorted(found: list[dict], sort: str | None) -> list[dict]:
    order = {v: i for i, v in enumerate(VERDICTS)}
    far = "9999-12-31"
    keys = {
        "name": lambda r: r["connector"],
        "verdict": lambda r: (order[r["verdict"]], r["connector"]),
        "ready_on": lambda r: (str(r["ready_on"] or far), r["connector"]),
        "last_day": lambda r: (str(r["last_day"] or ""), r["connector"]),
    }
    return sorted(found, key=keys[sort or "name"])


def summary(found: list[dict]) -> dict[str, Any]:
    verdicts = {v: sum(r["verdict"] == v for r in found) for v in VERDICTS}
    blocking: dict[str, int] = {}
    for r in found:
        for cid in r["blocking"]:
            blocking[cid] = blocking.get(cid, 0) + 1
    return {
        "connectors": len(found),
        "verdicts": verdicts,
        "blocking": dict(sorted(blocking.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def page(
    fleet: Fleet, links, sort: str | None = None, verdict: str | None = None, q: str | None = None
) -> Page:
    check_params(sort, verdict)
    everything = rows(fleet, links)
    found = [
        r
        for r in everything
        if (verdict is None or r["verdict"] == verdict)
        and (not q or q.lower() in r["connector"].lower())
    ]
    found = _sorted(found, sort)
    shown = {r["connector"] for r in found}
    criteria = list(fleet.results[fleet.names[0]].criteria) if fleet.names else []
    data = {
        "schema": "connector-ga/dashboard-fleet/v1",
        "as_of": fleet.as_of,
        "store_version": fleet.version,
        "sort": sort or "name",
        "verdict": verdict,
        "q": q or None,
        "summary": summary(found),
        "connectors": [{k: v for k, v in r.items() if k != "href"} for r in found],
        # Exactly `connector-ga check --all --json` (of the connectors shown).
        "results": [fleet.results[n].to_json_dict() for n in fleet.names if n in shown],
    }
    for r in found:
        r["cells"] = [
            (c.id, SHORT.get(c.id, c.id), r["criteria"][c.id], CELL[r["criteria"][c.id]])
            for c in criteria
        ]
        r["spark_availability"] = sparkline(
            [p["value"] for p in r["availability_daily"]],
            f"{r['connector']}: daily availability, last {len(r['availability_daily'])} days",
            high=1.0,
        )
        r["spark_users"] = sparkline(
            [p["users"] for p in r["weekly_users"]],
            f"{r['connector']}: weekly active users, last {len(r['weekly_users'])} weeks",
            low=0,
        )
    html = render(
        "fleet.html.j2",
        links,
        title=f"GA readiness — {len(fleet.names)} connectors",
        json_href=links.fleet(json=True, sort=sort, verdict=verdict, q=q),
        nav="fleet",
        fleet=fleet,
        rows=found,
        criteria=[(c.id, SHORT.get(c.id, c.id), wording.title(c.id)) for c in criteria],
        summary=data["summary"],
        sort=sort or "name",
        verdict=verdict,
        q=q or "",
        sorts=SORTS,
        verdicts=VERDICTS,
        verdict_text=wording.VERDICT_TEXT,
        store_version=fleet.version,
    )
    return Page(html, data)
