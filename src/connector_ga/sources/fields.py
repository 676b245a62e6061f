"""Picking source columns by name, and configurable fields (a column, or a key inside one)."""

from __future__ import annotations

import ibis

from .. import engine
from ..errors import InputError
from .typed import lower_columns, plain_name


def pick(raw: ibis.Table, *candidates: str) -> ibis.Value | None:
    """The first of the candidate columns the table has (names compared case-insensitively)."""
    names = lower_columns(raw)
    for name in candidates:
        if name.lower() in names:
            return raw[names[name.lower()]]
    return None  # (lower_columns also drops the portal's " [UTC]" suffix)


def json_key(column: ibis.Value, key: str) -> ibis.Value:
    """A key of a JSON object held as text (custom dimensions, headers), as text."""
    return engine.json_key(column, key)


def configured(raw: ibis.Table, spec: str, key: str, file: str) -> ibis.Value:
    """A field named in ga.toml [telemetry.fields]: a column, or `Column.key` inside a JSON
    column (e.g. customDimensions.connectionId)."""
    direct = pick(raw, spec)
    if direct is not None:
        return direct
    if "." in spec:
        column, _, inner = spec.partition(".")
        holder = pick(raw, column)
        if holder is not None:
            return json_key(holder, inner)
    raise InputError(
        f"ga.toml: telemetry.fields.{key} = {spec!r}: {file} has no such column "
        f"(columns: {', '.join(raw.columns[:12])}{', …' if len(raw.columns) > 12 else ''})"
    )


def has_signature(columns: list[str], signatures: tuple[set[str], ...]) -> bool:
    """Whether the columns include one of a source's telling sets of names."""
    names = {plain_name(c) for c in columns}
    return any(signature <= names for signature in signatures)


def mapped_columns(
    raw: ibis.Table, columns: dict[str, tuple[str, ...]], label: str, file: str
) -> dict[str, ibis.Value]:
    """Canonical name -> the source column that carries it; time and status are required."""
    cols = {}
    for canonical, candidates in columns.items():
        column = pick(raw, *candidates)
        if column is not None:
            cols[canonical] = column
    for required in ("time", "status"):
        if required not in cols:
            raise InputError(
                f"{file}: missing {label} column {' or '.join(columns[required])} "
                f"(for canonical '{required}')"
            )
    return cols
