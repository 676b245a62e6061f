"""The request ledger: every GA request drafted or sent, kept in the store.

Append-only: drafting a request adds a row (state `drafted`); sending it adds a second
row with the same id (state `sent`). The latest row of an id is its state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import ibis

from . import engine
from .store import ALIAS, DDL, Store

TABLE = "requests_ledger"
DECISION_DAYS = 30  # "the move takes about a month"

# Columns added after the first ledger DDL: a store made then gains them when written to.
COLUMN_TYPES = {
    "id": "int64",
    "connector": "string",
    "state": "string",
    "drafted_at": "timestamp('UTC')",
    "sent_at": "timestamp('UTC')",
    "verdict": "string",
    "evidence_hash": "string",
    "message_path": "string",
    "as_of": "date",
    "result_hash": "string",
    "report_path": "string",
    "result_path": "string",
    "recipient": "string",
    "subject": "string",
    "message_id": "string",
    "report_hash": "string",
}
LATER_COLUMNS = {
    "as_of": "DATE",
    "result_hash": "VARCHAR",
    "report_path": "VARCHAR",
    "result_path": "VARCHAR",
    "recipient": "VARCHAR",
    "subject": "VARCHAR",
    "message_id": "VARCHAR",
    "report_hash": "VARCHAR",
}


@dataclass
class LedgerEntry:
    id: int
    connector: str
    state: str  # "drafted" or "sent"
    drafted_at: dt.datetime
    verdict: str
    evidence_hash: str
    message_path: str
    sent_at: dt.datetime | None = None
    as_of: dt.date | None = None
    result_hash: str | None = None
    report_path: str | None = None
    result_path: str | None = None
    recipient: str | None = None
    subject: str | None = None
    message_id: str | None = None
    report_hash: str | None = None  # SHA-256 of the HTML report (result_hash: of the JSON)

    @property
    def decision_expected(self) -> dt.date | None:
        """Sent + about a month."""
        if self.sent_at is None:
            return None
        return self.sent_at.date() + dt.timedelta(days=DECISION_DAYS)


def ensure_table(store: Store) -> None:
    """Create the ledger, or add the columns a store made by an older version lacks."""
    if TABLE not in engine.tables_of(store.con, ALIAS):
        statement = next(s for s in DDL if TABLE in s)
        store.con.raw_sql(statement)
        return
    present = set(store.table(TABLE).columns)
    for name, sql_type in LATER_COLUMNS.items():
        if name not in present:
            store.con.raw_sql(f"ALTER TABLE {ALIAS}.{TABLE} ADD COLUMN {name} {sql_type}")


def next_id(store: Store) -> int:
    t = store.table(TABLE)
    highest = t.id.max().execute()
    return 1 if highest is None or highest != highest else int(highest) + 1


def append(store: Store, entry: LedgerEntry) -> None:
    """Add one row; `store` must be open for writing."""
    ensure_table(store)
    columns = store.table(TABLE).columns
    row = asdict(entry)
    schema = {name: COLUMN_TYPES[name] for name in columns}
    record = {name: row.get(name) for name in columns}
    store.con.insert(TABLE, ibis.memtable([record], schema=schema), database=ALIAS)


def _python(value):
    """A pandas cell as a plain Python value (None for NaT/NaN)."""
    if value is None:
        return None
    try:
        if value != value:  # NaN / NaT
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    return value


def entries(store: Store, connector: str | None = None) -> list[LedgerEntry]:
    """Every ledger row, oldest first (by id, then drafted before sent)."""
    if TABLE not in engine.tables_of(store.con, ALIAS):
        return []
    t = store.table(TABLE)
    if connector is not None:
        t = t.filter(t.connector == connector)
    frame = t.execute()
    known = {f.name for f in fields(LedgerEntry)}
    out = []
    for record in frame.to_dict("records"):
        values = {k: _python(v) for k, v in record.items() if k in known}
        if isinstance(values.get("as_of"), dt.datetime):
            values["as_of"] = values["as_of"].date()
        values["id"] = int(values["id"])
        out.append(LedgerEntry(**values))
    order = {"drafted": 0, "sent": 1}
    out.sort(key=lambda e: (e.id, order.get(e.state, 2), e.sent_at or e.drafted_at))
    return out


def latest(store: Store, connector: str) -> LedgerEntry | None:
    """The newest request of a connector, in its latest state."""
    rows = entries(store, connector)
    return rows[-1] if rows else None


def last_sent(store: Store, connector: str) -> LedgerEntry | None:
    sent = [e for e in entries(store, connector) if e.state == "sent"]
    return sent[-1] if sent else None


def connectors(store: Store) -> list[str]:
    return sorted({e.connector for e in entries(store)})


def holds_telemetry(path: str | Path) -> bool:
    """Whether a store holds telemetry (a store may exist only for the ledger)."""
    path = Path(path)
    if not path.exists():
        return False
    with Store.open(path) as store:
        return bool(store.table("files").count().execute())
