"""Sources: each input format mapped to the canonical request table, and nothing else.

`read_telemetry` finds the files, tells their format (by columns or keys when `auto`),
maps each format's columns to canonical names and types them row by row (`typed`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import ibis
from ibis.backends import BaseBackend

from .. import engine
from ..config import FieldsSection
from ..errors import InputError
from . import apim, appinsights, canonical, otlp
from .azure_blob import is_blob_url
from .files import container_of, csv_lines, discover, head_text, read, read_checked
from .typed import to_canonical

SOURCES: dict[str, ModuleType] = {
    "canonical": canonical,
    "apim": apim,
    "appinsights": appinsights,
    "otlp": otlp,
}
FORMATS = ("auto", "csv", "jsonl", "parquet", "apim", "appinsights", "otlp")
LABELS = {
    "canonical": "canonical telemetry",
    "apim": "API Management gateway logs",
    "appinsights": "Application Insights requests",
    "otlp": "OTLP/JSON traces",
}


@dataclass
class FilePlan:
    """How one file is read: its container, its source format, and what the engine reads."""

    source: str
    container: str
    read_path: str  # the file itself, or its flattened Parquet (OTLP)
    # The file's columns: files are read together only when they have the same ones, so
    # two shapes of one source (APIM resource logs beside a Log Analytics export) are each
    # mapped by their own names.
    columns: frozenset[str] = frozenset()


@dataclass
class Telemetry:
    """Telemetry read in place: the typed request table (with `_reject` and `_file`)."""

    table: ibis.Table
    files: list[str]
    plans: dict[str, FilePlan] = field(default_factory=dict)
    display: dict[str, str] = field(default_factory=dict)
    con: BaseBackend | None = None
    default_connector: str | None = None
    fields: FieldsSection = field(default_factory=FieldsSection)
    stored_samples: list | None = None  # reject samples kept by a store, when read from one
    _scratch: tempfile.TemporaryDirectory | None = None

    def name_of(self, path: str) -> str:
        return self.display.get(path, path)

    @property
    def sources(self) -> set[str]:
        return {plan.source for plan in self.plans.values()} or {"store"}

    def numbered(self, path: str) -> ibis.Table:
        """One file typed, with `_row` (0-based, in file order) and `_raw_*` text columns."""
        plan = self.plans[path]
        raw = read(self.con, plan.container, [plan.read_path])
        if plan.source == "otlp":
            raw = raw.mutate(_row=raw["_line"] - 1, _file=ibis.literal(path))
        else:
            raw = raw.mutate(_row=engine.file_row_number(self.con, raw))
        return _typed(raw, plan, self.fields, self.name_of(path), self.default_connector, True)

    def locations(self, path: str, rows: Sequence[int]) -> dict[int, tuple[str, int]]:
        """Where rows (0-based, in file order) are: ('line', n) in text files, ('row', n)
        in Parquet. CSV lines are counted by a CSV reader, so quoted line breaks count."""
        plan = self.plans[path]
        if plan.source != "otlp" and plan.container == "csv":
            return {row: ("line", line) for row, line in csv_lines(path, rows).items()}
        unit = "row" if plan.container == "parquet" and plan.source != "otlp" else "line"
        return {row: (unit, row + 1) for row in rows}


def detect(path: str, container: str, columns: list[str] | None, local: str | None = None) -> str:
    """The source format of a file from its columns or keys (`path` as shown, `local`
    where it is read when that differs: a downloaded blob)."""
    if container == "json" and otlp.matches_text(head_text(local or path)):
        return "otlp"
    columns = columns or []
    for name in ("apim", "appinsights", "canonical"):
        if SOURCES[name].matches(columns):
            return name
    missing = [c for c in ("time", "status") if c not in {col.lower() for col in columns}]
    if len(missing) == 1:  # canonical, but for one required column
        raise InputError(
            f"{path}: missing required column '{missing[0]}' (canonical columns: "
            "time, status, connector, operation, connection_id, user_id, backend_status, …)"
        )
    shown = ", ".join(columns[:10]) + (", …" if len(columns) > 10 else "")
    raise InputError(
        f"{path}: cannot tell the telemetry format from its columns ({shown}); expected "
        "canonical (time, status, …), APIM gateway logs, Application Insights requests or "
        "OTLP/JSON, or pass --format"
    )


def _typed(
    raw: ibis.Table,
    plan: FilePlan,
    fields: FieldsSection,
    display: str,
    default_connector: str | None,
    keep_raw: bool = False,
) -> ibis.Table:
    mapped = SOURCES[plan.source].to_canonical_names(raw, fields, display)
    if plan.source != "canonical" and default_connector is not None:
        # ga.toml names the connector these logs belong to; the log's own API or service
        # name is not the connector id.
        mapped = mapped.mutate(connector=ibis.literal(default_connector))
    return to_canonical(
        mapped,
        default_connector,
        keep_raw=keep_raw,
        strip_text=plan.container != "parquet",
        # Azure portal CSV exports write times as "11/19/2026, 9:05:00.250 AM".
        portal_times=plan.source in ("apim", "appinsights") and plan.container == "csv",
    )


def _union(typed: list[ibis.Table]) -> ibis.Table:
    """Tables of several sources or containers as one. Zone-aware times are kept as each file
    has them (so time filters reach the reader) unless their precisions differ: a Parquet
    `timestamp(UTC, 6)` beside a parsed text time becomes the same `timestamp(UTC)` type."""
    if len({t.time.type() for t in typed}) > 1:
        utc = ibis.expr.datatypes.Timestamp(timezone="UTC")
        typed = [t.mutate(time=t.time.cast(utc)) for t in typed]
    table = typed[0]
    for other in typed[1:]:
        table = table.union(other)
    return table


def read_telemetry(
    con: BaseBackend,
    patterns: Sequence[str],
    fmt: str = "auto",
    default_connector: str | None = None,
    base_dir: Path | None = None,
    fields: FieldsSection | None = None,
    identity: str = "default",
) -> Telemetry:
    """Read telemetry files in place, in any supported format, typed and with rejects marked.
    Blob URLs (az://, abfs[s]://) are downloaded into a temporary folder first, and read
    from there as from disk; `identity` is the azure-identity credential used when the
    environment gives no storage key, SAS or connection string."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    fields = fields or FieldsSection()
    scratch: tempfile.TemporaryDirectory | None = None
    urls = [p for p in patterns if is_blob_url(p)]
    local = [p for p in patterns if not is_blob_url(p)]
    found = discover(local, base_dir) if local else []
    if urls:
        from . import azure_blob

        scratch = tempfile.TemporaryDirectory(prefix="connector-ga-blobs-")
        try:
            found += azure_blob.fetch(urls, Path(scratch.name), identity=identity).found
        except BaseException:
            scratch.cleanup()
            raise
    if not found:
        raise InputError("no telemetry given: pass --telemetry PATH or set [telemetry] paths")
    display = dict(found)
    plans: dict[str, FilePlan] = {}
    singles: dict[str, ibis.Table] = {}  # each file as read to detect its format
    for path, shown in found:
        if fmt in ("csv", "jsonl", "parquet"):
            container = {"jsonl": "json"}.get(fmt, fmt)
            source = "canonical"
        else:
            container = container_of(path)
            source = fmt if fmt != "auto" else None
        if source == "otlp" or (
            source is None and container == "json" and otlp.matches_text(head_text(path))
        ):
            if scratch is None:
                scratch = tempfile.TemporaryDirectory(prefix="connector-ga-otlp-")
            flat = Path(scratch.name) / f"{len(plans)}.parquet"
            otlp.flatten(path, shown, fields, flat)
            plans[path] = FilePlan("otlp", "parquet", str(flat))
            continue
        single = read_checked(con, container, [path], display, LABELS.get(source, "telemetry"))
        singles[path] = single
        if source is None:
            source = detect(shown, container, [c for c in single.columns if c != "_file"], path)
        SOURCES[source].to_canonical_names(single, fields, shown)  # names a missing column
        columns = frozenset(c.lower() for c in single.columns if c != "_file")
        plans[path] = FilePlan(source, container, path, columns)

    typed: list[ibis.Table] = []
    groups: dict[tuple[str, str, frozenset[str]], list[str]] = {}
    for path, plan in plans.items():
        if plan.source == "otlp":
            raw = read_checked(con, "parquet", [plan.read_path], display, LABELS["otlp"])
            raw = raw.mutate(_file=ibis.literal(path))
            typed.append(_typed(raw, plan, fields, display[path], default_connector))
        else:
            groups.setdefault((plan.source, plan.container, plan.columns), []).append(path)
    for (source, container, _), paths in groups.items():
        # A group of one file is the table its detection read (on Spark a second read
        # costs a schema pass and a job)
        if len(paths) == 1:
            raw = singles[paths[0]]
        else:
            raw = read_checked(con, container, paths, display, LABELS[source])
        plan = FilePlan(source, container, paths[0])
        typed.append(_typed(raw, plan, fields, display[paths[0]], default_connector))
    table = _union(typed)
    return Telemetry(
        table=table,
        files=[p for p, _ in found],
        plans=plans,
        display=display,
        con=con,
        default_connector=default_connector,
        fields=fields,
        _scratch=scratch,
    )
