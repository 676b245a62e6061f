"""History: the verdict and every criterion per day, and the days they changed.

JSON contract `connector-ga/history/v1`. Each day is a Result evaluated from the metric
series (see `metrics.series`), so it equals `check --as-of` that day in every figure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..result import Result, Status, Verdict

SCHEMA = "connector-ga/history/v1"


class DayCriterion(BaseModel):
    status: Status
    value: float | int | str | None = None


class HistoryDay(BaseModel):
    as_of: dt.date
    verdict: Verdict
    exception: str | None = None
    criteria: dict[str, DayCriterion]


class Change(BaseModel):
    """A change between consecutive days: of the verdict, or of one criterion's status."""

    on: dt.date
    what: Literal["verdict", "criterion"]
    criterion: str | None = None
    from_: str = Field(alias="from", serialization_alias="from")
    to: str

    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"on": self.on.isoformat()}
        if self.what == "verdict":
            out["verdict"] = True
        else:
            out["criterion"] = self.criterion
        out["from"], out["to"] = self.from_, self.to
        return out


class History(BaseModel):
    connector: str
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    days: list[HistoryDay]
    changes: list[Change]

    model_config = {"populate_by_name": True}

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "connector": self.connector,
            "from": self.from_.isoformat(),
            "to": self.to.isoformat(),
            "days": [d.model_dump(mode="json") for d in self.days],
            "changes": [c.to_json_dict() for c in self.changes],
        }


def history_day(result: Result) -> HistoryDay:
    return HistoryDay(
        as_of=result.as_of,
        verdict=result.verdict,
        exception=result.exception,
        criteria={c.id: DayCriterion(status=c.status, value=c.value) for c in result.criteria},
    )


def changes(days: Sequence[HistoryDay]) -> list[Change]:
    """Where the verdict or a criterion's status differs from the day before."""
    found: list[Change] = []
    for before, day in zip(days, days[1:], strict=False):
        if day.verdict != before.verdict:
            found.append(Change(on=day.as_of, what="verdict", from_=before.verdict, to=day.verdict))
        for cid, c in day.criteria.items():
            was = before.criteria.get(cid)
            if was is not None and was.status != c.status:
                found.append(
                    Change(
                        on=day.as_of, what="criterion", criterion=cid, from_=was.status, to=c.status
                    )
                )
    return found


def build(connector: str, results: Sequence[Result]) -> History:
    """The history of one connector from its Results, one per day, oldest first."""
    days = [history_day(r) for r in results]
    return History(
        connector=connector,
        from_=days[0].as_of,
        to=days[-1].as_of,
        days=days,
        changes=changes(days),
    )


def dumps(histories: Sequence[History], fleet: bool) -> str:
    """The JSON of one history, or a list of them for a fleet (as `check --all` lists)."""
    import json

    payload: Any = [h.to_json_dict() for h in histories]
    if not fleet:
        payload = payload[0]
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
