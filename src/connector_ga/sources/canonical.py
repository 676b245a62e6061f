"""The canonical schema itself (CSV, JSON, Parquet): columns are taken by name."""

from __future__ import annotations

import ibis

from ..config import FieldsSection
from ..errors import InputError
from ..schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS
from .fields import configured
from .typed import lower_columns, plain_name

NAME = "canonical"


def matches(columns: list[str]) -> bool:
    names = {plain_name(c) for c in columns}
    return all(required in names for required in REQUIRED_COLUMNS)


def to_canonical_names(raw: ibis.Table, fields: FieldsSection, file: str) -> ibis.Table:
    names = lower_columns(raw)
    for required in REQUIRED_COLUMNS:
        if required not in names:
            raise InputError(
                f"{file}: missing required column '{required}' "
                f"(canonical columns: {', '.join(CANONICAL_COLUMNS)})"
            )
    cols = {name: raw[names[name]] for name in CANONICAL_COLUMNS if name in names}
    for key in ("connection_id", "user_id"):
        spec = getattr(fields, key)
        if spec:
            cols[key] = configured(raw, spec, key, file)
    return raw.select(**cols, _file=raw["_file"], **_passthrough(raw))


def _passthrough(raw: ibis.Table) -> dict:
    return {"_row": raw["_row"]} if "_row" in raw.columns else {}
