"""Typing raw telemetry columns into the canonical request table, row by row.

A row that does not fit the canonical schema is kept with a reject reason (`_reject`), so
it is counted and reported, never silently dropped or kept. Shared by every source.
"""

from __future__ import annotations

import datetime

import ibis
import ibis.expr.datatypes as dt

from .. import engine
from ..schema import CANONICAL_COLUMNS, CLOUDS, FAULTS, TEXT_COLUMNS


def lower_columns(table: ibis.Table) -> dict[str, str]:
    """Column names, lower-cased, without the " [UTC]" the Azure portal adds to time columns."""
    return {plain_name(name): name for name in table.columns}


def plain_name(name: str) -> str:
    name = name.lower().strip()
    return name[: -len("[utc]")].strip() if name.endswith("[utc]") else name


def _text(col: ibis.Value, strip: bool = True) -> ibis.Value:
    """A text column with blanks as null."""
    if not col.type().is_string():
        return col.cast("string")
    if strip:
        col = col.strip()
    return col.nullif("")


def _whole(number: ibis.Value) -> ibis.Value:
    """A float that is an exact integer. NaN, infinities and huge values are not (casting
    them fails on DuckDB, saturates on Spark); `floor()` would cast them to an integer."""
    return (number.abs() <= 2**53) & (number % 1 == 0)


def _integer(col: ibis.Value) -> ibis.Value:
    """Parse an integer; null when the value is missing or not an integer."""
    kind = col.type()
    if kind.is_integer():
        return col.cast("int64")
    if kind.is_floating():
        return ibis.ifelse(_whole(col), col.cast("int64"), ibis.null("int64"))
    number = _text(col).try_cast("float64")
    return ibis.ifelse(_whole(number), number.cast("int64"), ibis.null("int64"))


def _word(col: ibis.Value, words: tuple[str, ...]) -> ibis.Value:
    """A text column of a few known words, lower-cased and stripped, blanks as null. A value
    written exactly as one of them (nearly every row) is taken as it is: stripping and
    lower-casing ten million of them costs a pass of its own."""
    if not col.type().is_string():
        return _text(col).lower()
    return ibis.ifelse(col.isin(list(words)), col, _text(col).lower())


def _number(col: ibis.Value) -> ibis.Value:
    kind = col.type()
    if kind.is_numeric():
        return col.cast("float64")
    return _text(col).try_cast("float64")


# The Azure portal's CSV export writes local-style times: "11/19/2026, 9:05:00.250 AM" (UTC).
PORTAL_TIME = r"^\d{1,2}/\d{1,2}/\d{4}, \d{1,2}:\d{2}:\d{2}(\.\d+)? [AP]M$"


# The request times a check works with: after the Unix epoch (DuckDB reads the text 'epoch'
# as that instant) and before year 9999, so that every window around them stays within
# Python's calendar. The engine holds more ('infinity', years up to 294247), and a result
# with such a time could not be read back.
EARLIEST = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
LATEST = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)


def _plausible(time: ibis.Value) -> ibis.Value:
    return (time > EARLIEST) & (time < LATEST)


def _plausible_or_null(time: ibis.Value) -> ibis.Value:
    return ibis.ifelse(_plausible(time), time, ibis.null(time.type()))


def _timestamp(col: ibis.Value, portal_times: bool = False) -> ibis.Value:
    """A UTC timestamp; offsets in text are converted, naive times are taken as UTC; null
    when it does not parse or is not plausible (outside EARLIEST..LATEST).

    Zone-aware columns are kept as they are, so time filters reach the file reader; their
    implausible times are rejected by `to_canonical`.
    """
    kind = col.type()
    utc = dt.Timestamp(timezone="UTC")
    if kind.is_timestamp() and kind.timezone:
        return col
    if kind.is_timestamp() or kind.is_date():
        return _plausible_or_null(col.cast(utc))
    text = _text(col)
    if not portal_times:
        return _plausible_or_null(text.try_cast(utc))
    portal = engine.try_parse_time(text, "%m/%d/%Y, %I:%M:%S.%f %p")
    portal_whole = engine.try_parse_time(text, "%m/%d/%Y, %I:%M:%S %p")
    return _plausible_or_null(
        ibis.coalesce(
            text.try_cast(utc),
            ibis.ifelse(text.re_search(PORTAL_TIME), ibis.coalesce(portal, portal_whole), None),
        )
    )


def to_canonical(
    raw: ibis.Table,
    default_connector: str | None = None,
    keep_raw: bool = False,
    strip_text: bool = True,
    portal_times: bool = False,
) -> ibis.Table:
    """Map a raw table with canonical column names to typed columns plus `_reject`, `_file`.

    With keep_raw, also `_row` and the raw text of each column as `_raw_<name>` (for
    locating rejected rows).
    """
    names = lower_columns(raw)

    def present(name: str) -> ibis.Value | None:
        return raw[names[name]] if name in names else None

    time = _timestamp(present("time"), portal_times)
    if keep_raw:  # rejected rows are read whole: no time a result cannot hold
        time = _plausible_or_null(time)
    status = _integer(present("status"))
    cols: dict[str, ibis.Value] = {"time": time, "status": status}
    for name in TEXT_COLUMNS:
        col = present(name)
        # Typed files (Parquet) keep text as written: stripping every id would cost a pass.
        cols[name] = _text(col, strip_text) if col is not None else ibis.null("string")
    connector = cols["connector"]
    if default_connector is not None:
        cols["connector"] = connector.fill_null(default_connector)
    else:
        cols["connector"] = connector.fill_null("unnamed-connector")

    reasons: list[tuple[ibis.Value, str]] = [
        (time.isnull() | ~_plausible(time), "time"),
        (status.isnull() | (status < 100) | (status > 599), "status"),
    ]

    raw_backend = present("backend_status")
    if raw_backend is not None:
        backend = _integer(raw_backend)
        bad = (
            (
                _text(raw_backend).notnull() & backend.isnull()
                if not raw_backend.type().is_numeric()
                else raw_backend.notnull() & backend.isnull()
            )
            | (backend < 100)
            | (backend > 599)
        )
        reasons.append((bad, "backend_status"))
        cols["backend_status"] = backend
    else:
        cols["backend_status"] = ibis.null("int64")

    raw_weight = present("weight")
    if raw_weight is not None:
        parsed = _integer(raw_weight)
        given = (
            raw_weight.notnull() if raw_weight.type().is_numeric() else _text(raw_weight).notnull()
        )
        reasons.append(((given & parsed.isnull()) | (parsed < 1), "weight"))
        cols["weight"] = parsed.fill_null(1)
    else:
        cols["weight"] = ibis.literal(1, "int64")

    raw_latency = present("latency_ms")
    if raw_latency is not None:
        latency = _number(raw_latency)
        given = (
            raw_latency.notnull()
            if raw_latency.type().is_numeric()
            else _text(raw_latency).notnull()
        )
        reasons.append((given & latency.isnull(), "latency_ms"))
        cols["latency_ms"] = latency
    else:
        cols["latency_ms"] = ibis.null("float64")

    raw_fault = present("fault")
    if raw_fault is not None:
        fault = _word(raw_fault, FAULTS)
        reasons.append((fault.notnull() & ~fault.isin(FAULTS), "fault"))
        cols["fault"] = fault
    else:
        cols["fault"] = ibis.null("string")

    raw_cloud = present("cloud")
    if raw_cloud is not None:
        cloud = _word(raw_cloud, CLOUDS)
        reasons.append((cloud.notnull() & ~cloud.isin(CLOUDS), "cloud"))
        cols["cloud"] = cloud.fill_null("public")
    else:
        cols["cloud"] = ibis.literal("public")

    reject = ibis.cases(*[(cond.fill_null(False), code) for cond, code in reasons], else_=None)
    cols["_file"] = raw["_file"]
    cols["_reject"] = reject.cast("string")
    extra: list[str] = []
    if keep_raw:
        cols["_row"] = raw["_row"]
        extra.append("_row")
        for name, original in names.items():
            if name in CANONICAL_COLUMNS:
                cols[f"_raw_{name}"] = raw[original].cast("string")
                extra.append(f"_raw_{name}")
    typed = raw.select(**cols)
    return typed.select(*CANONICAL_COLUMNS, "_file", "_reject", *extra)
