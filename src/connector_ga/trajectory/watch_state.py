"""What `watch` remembers between runs: one row per connector and thing watched (an alert
or a criterion) with its state and since when. The store keeps the rows
(`store.load_watch_state`, `store.save_watch_state`, called from the front door)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class StateRow:
    connector: str
    kind: str  # "alert" or "criterion"
    key: str
    state: str
    since: dt.datetime
    updated_at: dt.datetime

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.connector, self.kind, self.key)


State = dict[tuple[str, str, str], StateRow]
