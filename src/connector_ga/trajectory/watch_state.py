"""What `watch` remembers between runs, in the store: the table `watch_state`.

One row per connector and thing watched: `kind` 'alert' (key 'page 1h/5m', state
'firing' or 'ok') or 'criterion' (key the criterion id, state its status). `since` is the
evaluation time at which the state was first seen, `updated_at` the wall-clock time of the
run that last wrote it. The table is created on first write, as the request ledger is, in
the store file `--store` names or the default one (made if missing), even when the
telemetry is read in place.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ibis

from .. import engine
from ..store import ALIAS, Store

TABLE = "watch_state"
DDL = f"""CREATE TABLE IF NOT EXISTS {ALIAS}.{TABLE} (
    connector VARCHAR, kind VARCHAR, key VARCHAR, state VARCHAR,
    since TIMESTAMPTZ, updated_at TIMESTAMPTZ)"""
SCHEMA = {
    "connector": "string",
    "kind": "string",
    "key": "string",
    "state": "string",
    "since": "timestamp('UTC')",
    "updated_at": "timestamp('UTC')",
}


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


def _utc(value) -> dt.datetime:
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def load(store_path: str | Path, connectors: Sequence[str]) -> State:
    """The recorded state of these connectors; empty when nothing was recorded yet."""
    if not Path(store_path).exists():
        return {}
    with Store.open(store_path) as store:
        if TABLE not in engine.tables_of(store.con, ALIAS):
            return {}
        t = store.table(TABLE)
        frame = t.filter(t.connector.isin(list(connectors))).execute()
    rows = [
        StateRow(
            connector=r.connector,
            kind=r.kind,
            key=r.key,
            state=r.state,
            since=_utc(r.since),
            updated_at=_utc(r.updated_at),
        )
        for r in frame.itertuples(index=False)
    ]
    return {row.ident: row for row in rows}


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def save(store_path: str | Path, connectors: Sequence[str], rows: Iterable[StateRow]) -> None:
    """Replace the state of these connectors with `rows`, in one transaction (the store is
    created when missing)."""
    records = [
        {
            "connector": r.connector,
            "kind": r.kind,
            "key": r.key,
            "state": r.state,
            "since": r.since,
            "updated_at": r.updated_at,
        }
        for r in rows
    ]
    with Store.open(store_path, create=True, write=True) as store:
        engine.begin(store.con)
        try:
            store.con.raw_sql(DDL)
            if connectors:
                names = ", ".join(_quoted(c) for c in connectors)
                store.con.raw_sql(f"DELETE FROM {ALIAS}.{TABLE} WHERE connector IN ({names})")
            if records:
                table = ibis.memtable(records, schema=SCHEMA)
                store.con.insert(TABLE, table, database=ALIAS)
            engine.commit(store.con)
        except BaseException:
            engine.rollback(store.con)
            raise
