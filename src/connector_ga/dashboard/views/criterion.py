"""The criterion page (`/c/{id}/{criterion}`): its daily series, the numbers behind it,
and for a reliability criterion the operations and connections behind the faults."""

from __future__ import annotations

import altair as alt

from ...outputs import html_report, wording
from ...outputs.charts import GREY, RED, _date_axis, to_svg
from ...result import Criterion, Result
from ...trajectory.history import History
from ..links import file_key
from ..pages import Page, render
from ..state import Fleet

RELIABILITY = ("availability", "success-rate", "slo")


def _day_value(c: Criterion, status: str, value) -> str:
    return wording.format_value(c.model_copy(update={"status": status, "value": value}))


def series_chart(c: Criterion, history: History, prefix: str) -> str | None:
    """The criterion's value on each day of the history, with its threshold."""
    rows = [
        {"date": d.as_of.isoformat(), "value": float(d.criteria[c.id].value)}
        for d in history.days
        if isinstance(d.criteria[c.id].value, int | float)
        and not isinstance(d.criteria[c.id].value, bool)
    ]
    if not rows:
        return None
    days = [d.as_of for d in history.days]
    line = (
        alt.Chart(alt.Data(values=rows))
        .mark_line(point=len(rows) < 40, color="#1565c0")
        .encode(x=_date_axis(days), y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)))
    )
    layers = [line]
    if isinstance(c.threshold, int | float):
        rule = alt.Chart(alt.Data(values=[{"t": float(c.threshold)}])).mark_rule(
            color=RED, strokeDash=[4, 3]
        )
        layers.append(rule.encode(y="t:Q"))
    chart = alt.layer(*layers).properties(width=760, height=220)
    title = f"{wording.title(c.id)}, day by day"
    return to_svg(chart.configure_axis(labelColor=GREY), prefix, title)


def operations_rows(result: Result, cid: str) -> list[dict]:
    """The operations behind the faults: the fix plan's when the criterion fails, else the
    window's operations ranked by connector faults (failures for the success rate)."""
    plan = result.fix_plan
    fix = next((f for f in plan.criteria if f.criterion == cid), None) if plan else None
    if fix is not None:
        return [
            {
                "operation": op.operation,
                "in_smallest_set": op.operation in fix.smallest_set,
                "eligible": op.eligible,
                "connector_faults": op.connector_faults,
                "failures": op.failures,
                "statuses": op.statuses,
                "error_reasons": op.error_reasons,
            }
            for op in fix.operations
        ]
    ops = result.metrics.operations
    if cid == "success-rate":
        ranked = sorted(ops, key=lambda o: (-(o.eligible - o.successes), o.operation))
    else:
        ranked = sorted(ops, key=lambda o: (-o.connector_faults, o.operation))
    return [
        {
            "operation": o.operation,
            "in_smallest_set": False,
            "eligible": o.eligible,
            "connector_faults": o.connector_faults,
            "failures": o.eligible - o.successes,
            "statuses": {},
            "error_reasons": {},
        }
        for o in ranked
    ]


def page(fleet: Fleet, links, name: str, cid: str) -> Page:
    view = fleet.view(name)
    result, history = view.result, view.history
    c = next((x for x in result.criteria if x.id == cid), None)
    if c is None:
        ids = ", ".join(x.id for x in result.criteria)
        raise LookupError(f"{name} has no criterion '{cid}' (it has: {ids})")
    days = [
        {"as_of": d.as_of, "status": d.criteria[cid].status, "value": d.criteria[cid].value}
        for d in history.days
        if cid in d.criteria
    ]
    reliability = cid in RELIABILITY
    operations = operations_rows(result, cid) if reliability else []
    plan = result.fix_plan
    connections = (
        [x.model_dump(mode="json") for x in plan.connections]
        if reliability and plan and any(f.criterion == cid for f in plan.criteria)
        else []
    )
    forecast = result.forecast.criteria.get(cid) if result.forecast else None
    data = {
        "schema": "connector-ga/dashboard-criterion/v1",
        "connector": name,
        "as_of": result.as_of,
        "store_version": fleet.version,
        # As in `check --json`'s criteria, and each day as in `history --json`'s days.
        "criterion": c.model_dump(mode="json", by_alias=True),
        "days": days,
        "forecast": forecast.model_dump(mode="json") if forecast else None,
        "operations": operations,
        "connections": connections,
    }
    row = html_report.criterion_row(result, c)

    def html():
        return render(  # rendered when first asked for
            "criterion.html.j2",
            links,
            title=f"{wording.title(cid)} — {wording.name(result)}",
            json_href=links.criterion(name, cid, json=True),
            nav="fleet",
            name=name,
            r=result,
            c=c,
            row=row,
            chart=series_chart(c, history, f"{file_key(name).lower()}-{cid}"),
            days=[
                {
                    "as_of": d["as_of"],
                    "status": d["status"],
                    "value": _day_value(c, d["status"], d["value"]),
                }
                for d in reversed(days)
            ],
            forecast=forecast,
            reliability=reliability,
            operations=[
                {
                    **op,
                    "statuses": wording.counts_text(op["statuses"], limit=6),
                    "error_reasons": wording.counts_text(op["error_reasons"], limit=3),
                }
                for op in operations[:50]
            ],
            more_operations=max(0, len(operations) - 50),
            connections=connections,
            store_version=fleet.version,
        )

    return Page(html, data)
