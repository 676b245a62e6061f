"""Azure Monitor Logs: the requests of a Log Analytics workspace (or of one resource) read
through the Logs query API (`azure-monitor-query`), slice by slice, complete or not at all.

Each slice of time is asked with the API's `timespan`; an answer the service cut (a partial
result: the 500,000-row or 64 MB limit) is split in two and both halves asked again, until
every slice is whole. Throttling (429) and server faults (5xx) are asked again after
`Retry-After`, with a bounded backoff. The whole answer is written as JSON Lines with the
column names of a Log Analytics export, which the `apim` / `appinsights` adapters read like
any exported file: the figures are those of the same rows exported by hand.

Imported only on the `--from azure` path: a plain check never loads the Azure SDK.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import AzureSection
from ..errors import InputError

# cloud -> (Logs query endpoint, token audience, Entra ID authority host)
CLOUDS = {
    "public": ("https://api.loganalytics.io", "login.microsoftonline.com"),
    "us-government": ("https://api.loganalytics.us", "login.microsoftonline.us"),
    "china": ("https://api.loganalytics.azure.cn", "login.chinacloudapi.cn"),
}
# The adapter that maps each table's columns.
FORMATS = {
    "ApiManagementGatewayLogs": "apim",
    "AppRequests": "appinsights",
    "requests": "appinsights",
}
# The API cuts an answer at this many rows; an answer this long is treated as cut even if
# the service did not say so.
ROW_LIMIT = 500_000
SLICE = dt.timedelta(days=1)
SMALLEST_SLICE = dt.timedelta(seconds=1)
# The service ingests a row 20 s to 3 min after its TimeGenerated on average, and later in
# its tail (Azure Monitor's "Log data ingestion time"): rows of the last minutes before an
# ingest may only become queryable after it. The next ingest asks that hour again; request
# ids make what it already stored count once.
OVERLAP = dt.timedelta(hours=1)
RETRIED_STATUS = {408, 429, 500, 502, 503, 504}
# What a refusal most often means, said after the service's own words.
REFUSED_HINTS = {
    403: " (the identity needs Log Analytics Reader on the workspace, or Reader on the resource)",
    404: " (no such workspace or resource in this cloud, or the identity cannot see it)",
}


@dataclass
class Retry:
    """How a throttled or failed request is asked again: at most `attempts` tries, waiting
    what `Retry-After` says or else an exponential backoff, never more than `max_wait` s."""

    attempts: int = 6
    backoff: float = 1.0
    max_wait: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, attempt: int, retry_after: float | None) -> float:
        wanted = retry_after if retry_after is not None else self.backoff * 2**attempt
        return max(0.0, min(wanted, self.max_wait))


@dataclass
class Fetched:
    """What a fetch wrote: rows, slices asked (and split), retries."""

    rows: int = 0
    slices: int = 0
    splits: int = 0
    retries: int = 0
    columns: list[str] = field(default_factory=list)


def source_key(azure: AzureSection) -> str:
    """The store's name for a remote source: what is queried, which table, which filter."""
    scope = f"workspace={azure.workspace}" if azure.workspace else f"resource={azure.resource}"
    return f"azure:{scope};table={azure.table};where={azure.where or ''}"


def query_text(azure: AzureSection) -> str:
    """The table, then the filter; time is the request's `timespan`, not part of the text."""
    return azure.table + (f" | where {azure.where}" if azure.where else "")


def _where(azure: AzureSection) -> str:
    return f"workspace {azure.workspace}" if azure.workspace else f"resource {azure.resource}"


def endpoint_of(azure: AzureSection) -> tuple[str, str]:
    """(the endpoint asked, the token audience): a private endpoint or a stand-in keeps the
    audience of its cloud's Logs API."""
    default, _ = CLOUDS[azure.cloud]
    endpoint = (azure.endpoint or default).rstrip("/")
    return endpoint, default


def credential_for(kind: str, cloud: str):
    """The azure-identity credential ga.toml names, for its cloud's authority."""
    from azure import identity

    # The public cloud keeps the library's own default, so AZURE_AUTHORITY_HOST applies.
    authority = {} if cloud == "public" else {"authority": CLOUDS[cloud][1]}
    try:
        if kind == "cli":
            return identity.AzureCliCredential()
        if kind == "environment":
            return identity.EnvironmentCredential(**authority)
        if kind == "managed-identity":
            return identity.ManagedIdentityCredential(client_id=os.environ.get("AZURE_CLIENT_ID"))
        if kind == "workload-identity":
            return identity.WorkloadIdentityCredential(**authority)
        return identity.DefaultAzureCredential(**authority)
    except ValueError as exc:  # e.g. workload identity without its environment variables
        raise InputError(f"ga.toml: telemetry.azure.credential = {kind!r}: {exc}") from None


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _json_value(value):
    if isinstance(value, dt.datetime):
        return _rfc3339(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    return value


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


def _retry_after(response) -> float | None:
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class _Querier:
    """One slice asked until it is had, or the ingest gives up."""

    def __init__(self, client, azure: AzureSection, retry: Retry, fetched: Fetched):
        self.client = client
        self.azure = azure
        self.retry = retry
        self.fetched = fetched
        self.text = query_text(azure)

    def ask(self, start: dt.datetime, end: dt.datetime):
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        span = f"{_rfc3339(start)}/{_rfc3339(end)}"
        where = f"azure: {_where(self.azure)}, table {self.azure.table}, slice {span}"
        last = ""
        for attempt in range(self.retry.attempts):
            if attempt:
                self.fetched.retries += 1
            try:
                if self.azure.workspace:
                    return self.client.query_workspace(
                        self.azure.workspace, self.text, timespan=(start, end)
                    )
                return self.client.query_resource(
                    self.azure.resource, self.text, timespan=(start, end)
                )
            except (ClientAuthenticationError, HttpResponseError) as exc:
                status = exc.status_code
                if exc.response is None or status is None:  # never sent: no token
                    raise InputError(
                        f"{where}: credential {self.azure.credential!r} got no token: "
                        f"{_first_line(exc.message)}; nothing was ingested"
                    ) from None
                if status not in RETRIED_STATUS:
                    raise InputError(
                        f"{where}: the Logs API answered {status}: {_first_line(exc.message)}"
                        f"{REFUSED_HINTS.get(status, '')}; nothing was ingested"
                    ) from None
                last = f"HTTP {status}"
                if attempt + 1 < self.retry.attempts:  # no wait after the last try
                    self.retry.sleep(self.retry.wait(attempt, _retry_after(exc.response)))
            except (ServiceRequestError, ServiceResponseError) as exc:
                reason = _first_line(str(exc)) or type(exc).__name__
                last = f"cannot reach {endpoint_of(self.azure)[0]}: {reason}"
                if attempt + 1 < self.retry.attempts:
                    self.retry.sleep(self.retry.wait(attempt, None))
        raise InputError(
            f"{where}: not had after {self.retry.attempts} tries (last: {last}); "
            "nothing was ingested, the store is unchanged"
        )


def fetch(
    azure: AzureSection,
    start: dt.datetime,
    end: dt.datetime,
    out: Path,
    *,
    credential=None,
    retry: Retry | None = None,
    slice_length: dt.timedelta = SLICE,
    row_limit: int = ROW_LIMIT,
    progress: Callable[[dt.timedelta, int], None] | None = None,
) -> Fetched:
    """Write every row of [start, end) as JSON Lines to `out`, slice by slice; a slice the
    service cut is split until whole. Raises InputError (and leaves `out` to the caller to
    remove) when a slice cannot be had. `progress` hears the time covered and rows so far."""
    from azure.monitor.query import LogsQueryClient, LogsQueryStatus

    # The SDK's own warnings (a credential that failed, …) would print beside our one line;
    # what they say is in that line.
    logging.getLogger("azure").addHandler(logging.NullHandler())

    if credential is None:
        credential = credential_for(azure.credential, azure.cloud)
    endpoint, audience = endpoint_of(azure)
    # Retries are ours (counted, bounded, Retry-After honoured); none inside the SDK.
    client = LogsQueryClient(credential, endpoint=endpoint, audience=audience, retry_total=0)
    fetched = Fetched()
    querier = _Querier(client, azure, retry or Retry(), fetched)
    # Slices follow each other from `start`; a cut slice is asked again at half its
    # length, and later slices keep the length that worked (a busy service is busy for a
    # while), doubling back towards `slice_length` while answers stay well under the limit.
    length = slice_length
    cursor = start
    with client, open(out, "w", encoding="utf-8") as handle:
        while cursor < end:
            a, b = cursor, min(cursor + length, end)
            answer = querier.ask(a, b)
            fetched.slices += 1
            partial = answer.status == LogsQueryStatus.PARTIAL
            tables = answer.partial_data if partial else answer.tables
            rows = sum(len(t.rows) for t in tables or [])
            if partial or rows >= row_limit:
                if b - a <= SMALLEST_SLICE:
                    reason = _first_line(getattr(answer.partial_error, "message", "")) or (
                        f"{rows:,} rows"
                    )
                    raise InputError(
                        f"azure: {_where(azure)}, table {azure.table}, slice "
                        f"{_rfc3339(a)}/{_rfc3339(b)}: still cut by the Logs API in "
                        f"{SMALLEST_SLICE.total_seconds():.0f} s of time ({reason}); "
                        "narrow telemetry.azure.where; nothing was ingested"
                    )
                half = dt.timedelta(seconds=(b - a).total_seconds() // 2)
                length = max(half, SMALLEST_SLICE)
                fetched.splits += 1
                continue
            for table in tables or []:
                if not fetched.columns:
                    fetched.columns = list(table.columns)
                for row in table.rows:
                    record = {c: _json_value(v) for c, v in zip(table.columns, row, strict=True)}
                    handle.write(json.dumps(record, default=str) + "\n")
            fetched.rows += rows
            cursor = b
            if rows < row_limit // 4:
                length = min(length * 2, slice_length)
            if progress:
                progress(cursor - start, fetched.rows)
    return fetched
