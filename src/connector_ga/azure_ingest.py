"""`ingest --from azure`: the window to ask, the answer fetched whole, then one ordinary
ingest of it and of the source's new resume point, in one publish."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config import AzureSection, FieldsSection
from .errors import InputError
from .policy import Policy, load_policy
from .store import IngestReport, ingest, source_covered_until
from .trajectory.forecast import TREND_WEEKS


@dataclass
class AzureIngest:
    report: IngestReport
    source: str
    start: dt.datetime
    end: dt.datetime
    rows: int
    slices: int
    splits: int
    retries: int
    resumed: bool


def first_window(policy: Policy) -> dt.timedelta:
    """What the first ingest of a source asks for: the trend's eight weeks of daily MAC,
    each day's MAC looking back its own 30 days, and the days back to the first week's
    Monday — 56 + 29 + 6 = 91 days with the default policy."""
    return dt.timedelta(days=7 * TREND_WEEKS + policy.window.mac_lookback_days - 1 + 6)


def window(
    store_path: Path,
    azure: AzureSection,
    since: dt.datetime | None,
    until: dt.datetime | None,
    policy: Policy,
    now: dt.datetime | None = None,
) -> tuple[dt.datetime, dt.datetime, bool]:
    """[start, end) to ask, and whether it resumes a previous ingest."""
    from .sources.azure_monitor import OVERLAP, source_key

    end = until or (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    resumed = False
    if since is not None:
        start = since
    else:
        covered = source_covered_until(store_path, source_key(azure))
        if covered is not None:
            start, resumed = covered - OVERLAP, True
        else:
            start = end - first_window(policy)
    if start >= end:
        begins = (
            f"the resume point less the overlap, {start:%Y-%m-%dT%H:%M:%SZ},"
            if resumed
            else f"--since {start:%Y-%m-%dT%H:%M:%SZ}"
        )
        raise InputError(
            f"{begins} is not before --until {end:%Y-%m-%dT%H:%M:%SZ}: "
            "expected a window that ends after it starts (a backfill names --since)"
        )
    return start, end, resumed


def ingest_from_azure(
    store_path: str | Path,
    azure: AzureSection,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    fields: FieldsSection | None = None,
    default_connector: str | None = None,
    credential=None,
    retry=None,
    slice_length: dt.timedelta | None = None,
    progress: Callable[[dt.timedelta, dt.timedelta, int], None] | None = None,
    max_reject_rate: float | None = None,
    policy: Policy | str | Path | None = None,
    now: dt.datetime | None = None,
) -> AzureIngest:
    """Ask Azure Monitor Logs for the rows of [since, until) — by default from where the last
    ingest of this source ended, less the overlap — and store them in one publish, with the
    new resume point. A slice that cannot be had stores nothing."""
    from .sources import azure_monitor

    store_path = Path(store_path)
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    start, end, resumed = window(store_path, azure, since, until, policy, now)
    total = end - start
    key = azure_monitor.source_key(azure)
    extra = {"slice_length": slice_length} if slice_length else {}
    with tempfile.TemporaryDirectory(prefix="connector-ga-azure-") as scratch:
        answer = Path(scratch) / "answer.jsonl"
        fetched = azure_monitor.fetch(
            azure,
            start,
            end,
            answer,
            credential=credential,
            retry=retry,
            progress=(lambda covered, rows: progress(covered, total, rows)) if progress else None,
            **extra,
        )
        scope = azure.workspace or azure.resource
        shown = (
            f"azure:{scope}/{azure.table} "
            f"{azure_monitor._rfc3339(start)}/{azure_monitor._rfc3339(end)}"
        )
        found = [(str(answer), shown)] if fetched.rows else []
        report = ingest(
            store_path,
            [],
            azure_monitor.FORMATS[azure.table],
            fields=fields,
            default_connector=default_connector,
            max_reject_rate=max_reject_rate,
            policy=policy,
            found=found,
            source_state=(key, end),
        )
    return AzureIngest(
        report,
        key,
        start,
        end,
        fetched.rows,
        fetched.slices,
        fetched.splits,
        fetched.retries,
        resumed,
    )


def fetch_for_check(
    azure: AzureSection,
    folder: Path,
    *,
    as_of: dt.date | None = None,
    policy: Policy | str | Path | None = None,
    credential=None,
    retry=None,
    progress: Callable[[dt.timedelta, dt.timedelta, int], None] | None = None,
    now: dt.datetime | None = None,
) -> Path:
    """`check --from azure`: the rows of the window the criteria and the forecast need,
    ending with the evaluation day (or now), written whole into `folder` for a check in
    place; nothing is stored."""
    from .sources import azure_monitor

    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    if as_of is not None:
        end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), dt.UTC)
    else:
        end = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    start = end - first_window(policy)
    total = end - start
    stamp = "%Y%m%dT%H%M%SZ"
    answer = folder / f"azure-{azure.table}-{start:{stamp}}-{end:{stamp}}.jsonl"
    fetched = azure_monitor.fetch(
        azure,
        start,
        end,
        answer,
        credential=credential,
        retry=retry,
        progress=(lambda covered, rows: progress(covered, total, rows)) if progress else None,
    )
    if not fetched.rows:
        raise InputError(
            f"azure: {azure_monitor._where(azure)}, table {azure.table}: no rows from "
            f"{azure_monitor._rfc3339(start)} to {azure_monitor._rfc3339(end)}; "
            "nothing to judge (check telemetry.azure.where and the table)"
        )
    return answer
