"""Real telemetry sources (issue 3): APIM gateway logs, Application Insights requests and
OTLP/JSON traces, each mapped to the canonical request table and judged by the same metrics.

The fixtures under tests/data/sources/ were written from the documented schemas:
- `ApiManagementGatewayLogs` (azure-reference-other, azure-monitor-ref/tables/
  apimanagementgatewaylogs.md): TimeGenerated, ResponseCode, BackendResponseCode,
  LastErrorSource/Section/Reason, OperationId, ApiId, UserId, ApimSubscriptionId,
  CorrelationId, TotalTime, ... as JSON Lines (`apim_gateway.jsonl`), CSV (`apim_gateway.csv`)
  and the JSON array `az monitor log-analytics query` prints, every value a string
  (`apim_gateway_array.json`) -- the same 27 rows in all three;
- the legacy `AzureDiagnostics` spelling (`apim_azurediagnostics.csv`: responseCode_d,
  backendResponseCode_d, lastError_source_s, lastError_reason_s, apiId_s, operationId_s,
  userId_s, apimSubscriptionId_s, CorrelationId, DurationMs);
- the resource logs a diagnostic setting archives to a storage account
  (api-management-howto-use-azure-monitor, gateway-log-schema-reference): one JSON record
  per line with the common top-level schema (time, resourceId, category GatewayLogs,
  operationName, correlationId, durationMs, callerIpAddress, location, level) and the
  request in a camelCase `properties` object (responseCode, backendResponseCode, apiId,
  operationId, apimSubscriptionId, userId, lastError {elapsed, source, scope, section, reason,
  message}, ...), one PT1H.json per hour in the storage layout
  `insights-logs-gatewaylogs/resourceId=/SUBSCRIPTIONS/.../y=2026/m=11/d=19/h=08/m=00/`;
- Application Insights classic `requests` as CSV, customDimensions as JSON text, itemCount
  (`appinsights_requests.csv`), and the workspace `AppRequests` table as a JSON array with
  Properties as an object and ItemCount (`appinsights_apprequests.json`);
- OTLP/JSON (opentelemetry-proto examples/trace.json): resourceSpans -> scopeSpans -> spans,
  SERVER spans (kind 2) with http.response.status_code / http.route / error.type and CLIENT
  children (kind 3, in the HTTP client's scope) carrying the backend's status
  (`otlp_traces.json`), and the collector file exporter's one document per line
  (`otlp_collector.jsonl`).

Every expected row and number below is worked out by hand from those files and DESIGN.md
("Fault attribution", "Metric definitions"); the arithmetic is in the comments. D is
2026-11-20, so every fixture row lies in the reliability window [2026-10-22, 2026-11-20].
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from connector_ga import engine
from connector_ga.api import check
from connector_ga.attribution import attribute
from connector_ga.cli import app
from connector_ga.config import parse_config
from connector_ga.errors import InputError
from connector_ga.policy import load_policy
from connector_ga.sources import read_telemetry

DATA = Path(__file__).parent / "data" / "sources"
D = dt.date(2026, 11, 20)
CLI = [sys.executable, "-m", "connector_ga.cli"]
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}

# The columns an expected-row table lists, in order. `fault` is the fault the shared
# attribution gives the row (DESIGN.md rules 1-9); "connector*" marks rule 9 (unattributed).
ROW_COLUMNS = (
    "time",
    "status",
    "operation",
    "connection_id",
    "user_id",
    "backend_status",
    "error_source",
    "error_reason",
    "latency_ms",
    "request_id",
    "weight",
    "fault",
)
INTS = {"status", "backend_status", "weight"}


# --- helpers ----------------------------------------------------------------------------


def table(text: str) -> list[tuple]:
    """Parse a `|`-separated table of expected rows (blank cell = null), sorted like `read`."""
    rows = []
    for line in text.strip().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() or None for c in line.split("|")]
        assert len(cells) == len(ROW_COLUMNS), line
        row = {}
        for name, cell in zip(ROW_COLUMNS, cells, strict=True):
            if cell is not None and name in INTS:
                cell = int(cell)
            elif cell is not None and name == "latency_ms":
                cell = float(cell)
            elif cell is not None and name == "time":
                cell = dt.datetime.fromisoformat(cell)
            row[name] = cell
        rows.append(tuple(row[c] for c in ROW_COLUMNS))
    return sorted(rows, key=lambda r: (r[9] or "", r[0]))


def _clean(value):
    """NaN / NaT (a null in a pandas frame) as None."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def read(path: Path, fmt: str = "auto", fields: dict | None = None, connector=None):
    """(source formats, connectors, rows) as read by read_telemetry, each row in ROW_COLUMNS
    order with its attributed fault; checks what holds for every row of a clean fixture."""
    con = engine.connect()
    config = parse_config({"telemetry": {"fields": fields or {}}})
    data = read_telemetry(
        con, [str(path)], fmt, default_connector=connector, fields=config.telemetry.fields
    )
    t = data.table.mutate(explicit_fault=data.table.fault)
    t = attribute(t)
    df = t.execute()
    assert df["_reject"].isna().all(), df[df["_reject"].notna()]
    assert df["explicit_fault"].isna().all()  # no source invents an explicit fault
    assert set(df["cloud"]) == {"public"}
    rows = []
    for record in df.to_dict("records"):
        record = {k: _clean(v) for k, v in record.items()}
        time = record["time"].to_pydatetime()
        backend = record["backend_status"]
        fault = record["fault"] + ("*" if record["unattributed"] else "")
        rows.append(
            (
                time,
                int(record["status"]),
                record["operation"],
                record["connection_id"],
                record["user_id"],
                None if backend is None else int(backend),
                record["error_source"],
                record["error_reason"],
                record["latency_ms"],
                record["request_id"],
                int(record["weight"]),
                fault,
            )
        )
    connectors = set(df["connector"])
    con.disconnect()
    return data.sources, connectors, sorted(rows, key=lambda r: (r[9] or "", r[0]))


def summary(result) -> dict:
    """The metrics every source must agree on, from a Result."""
    m, q = result.metrics, result.data_quality
    return {
        "requests": m.requests,
        "eligible": m.eligible,
        "throttled": m.throttled,
        "successes": m.successes,
        "faults": dict(m.faults),
        "success_rate": round(m.success_rate, 9),
        "availability": round(m.availability, 9),
        "slo": round(m.slo, 9) if m.slo is not None else None,
        "connections": m.connections,
        "meeting": m.connections_meeting_bar,
        "mac": m.mac.current,
        "unattributed": q.unattributed_5xx,
        "without_connection": q.rows_without_connection,
        "duplicates": q.duplicate_rows,
        "rejected": q.rejected_rows,
        "estimated": m.distinct_counts_estimated,
    }


def expected(
    *,
    none: int,
    throttled: int,
    client: int,
    backend: int,
    connector: int,
    connections: int,
    meeting: int,
    mac: int,
    unattributed: int,
    without_connection: int = 0,
    duplicates: int = 0,
    estimated: bool = False,
) -> dict:
    """The summary implied by hand-counted (weighted) faults: successes are the `none`
    requests (every fixture's `none` rows answer 1xx-3xx and no failed row does)."""
    requests = none + throttled + client + backend + connector
    eligible = requests - throttled
    return {
        "requests": requests,
        "eligible": eligible,
        "throttled": throttled,
        "successes": none,
        "faults": {
            "none": none,
            "client": client,
            "backend": backend,
            "connector": connector,
            "throttled": throttled,
        },
        "success_rate": round(none / eligible, 9),
        "availability": round(1 - connector / eligible, 9),
        "slo": round(meeting / connections, 9),
        "connections": connections,
        "meeting": meeting,
        "mac": mac,
        "unattributed": unattributed,
        "without_connection": without_connection,
        "duplicates": duplicates,
        "rejected": 0,
        "estimated": estimated,
    }


_CHECKED: dict[str, object] = {}


def checked(name: str):
    """check() of a fixture with --format auto, computed once per test session."""
    if name not in _CHECKED:
        _CHECKED[name] = check(telemetry=str(DATA / name), fmt="auto", as_of=D)
    return _CHECKED[name]


def otlp_id(n: int) -> str:
    """request_id of span n of otlp_traces.json: traceId-spanId."""
    return f"5b8efff798038103d269b633813f{n:04x}-eee19b7ec3c1{n:04x}"


# --- expected canonical rows, by hand from the fixtures ----------------------------------

# apim_gateway.{jsonl,csv} and apim_gateway_array.json. BackendResponseCode 0 means the
# gateway never reached the backend: null. c19 has no BackendResponseCode at all.
APIM_ROWS = table(
    """
2026-11-18T09:00:00Z     |200|ListTasks |sub-alpha  |user-1|200|||120|c01|1|none
2026-11-18T09:05:00.250Z |201|CreateTask|sub-alpha  |user-1|201|||250|c02|1|none
2026-11-18T10:00:00Z     |304|GetTask   |sub-bravo  |user-2|304|||15 |c03|1|none
2026-11-18T11:00:00Z     |200|ListTasks |sub-bravo  |user-2|200|||80 |c04|1|none
# rule 2 before rule 3: the caller got a 200 although the backend said 500 (retry policy)
2026-11-19T08:00:00Z     |200|ListTasks |sub-charlie|user-3|500|||900|c05|1|none
# rule 1 by status and by reason (a quota answered 403 is throttling, not a client error)
2026-11-19T08:10:00Z|429|ListTasks|sub-charlie|user-3||rate-limit-by-key|RateLimitExceeded|2|c06|1|throttled
2026-11-19T08:20:00Z|403|ListTasks|sub-charlie|user-3||quota-by-key|QuotaExceeded|3|c07|1|throttled
2026-11-19T08:30:00Z     |429|GetTask   |sub-alpha  |user-1|429|||40 |c08|1|throttled
# rule 7: no subscription key, so no connection and no user either
2026-11-19T09:00:00Z|401|ListTasks|||| authorization|SubscriptionKeyNotFound|1|c09|1|client
2026-11-19T09:10:00Z|404||sub-bravo|user-2||configuration|OperationNotFound|1|c10|1|client
# rule 4: the backend said 4xx
2026-11-19T09:20:00Z     |400|CreateTask|sub-alpha  |user-4|400|||60 |c11|1|client
2026-11-19T09:30:00Z     |404|GetTask   |sub-bravo  |user-2|404|||55 |c12|1|client
# rule 3: the backend said 5xx
2026-11-19T10:00:00Z     |502|ListTasks |sub-charlie|user-3|503|||300|c13|1|backend
2026-11-19T10:10:00Z     |500|UpdateTask|sub-alpha  |user-1|500|||310|c14|1|backend
# rule 6: the backend was not reached (0 -> null); forward-request / Timeout says why
2026-11-19T10:20:00Z|504|ListTasks|sub-charlie|user-3||forward-request|Timeout|30000|c15|1|backend
2026-11-19T10:30:00Z|500|GetTask|sub-bravo|user-2||forward-request|BackendConnectionFailure|21000|c16|1|backend
# rule 5: the backend answered 200, a policy failed
2026-11-20T08:00:00Z|500|GetTask|sub-alpha|user-1|200|set-body|ExpressionValueEvaluationFailure|95|c17|1|connector
# rule 9: a 5xx with nothing to say who caused it (unattributed)
2026-11-20T08:10:00Z|500|CreateTask|sub-bravo|user-2||set-variable|ExpressionValueEvaluationFailure|4|c18|1|connector*
2026-11-20T08:20:00Z     |503|ListTasks |sub-delta  |user-5|   |||12 |c19|1|connector*
2026-11-20T08:30:00Z     |500|DeleteTask|sub-alpha  |user-4|404|||70 |c20|1|client
2026-11-20T09:00:00Z     |200|ListTasks |sub-alpha  |user-1|200|||110|c21|1|none
2026-11-20T09:10:00Z     |200|ListTasks |sub-charlie|user-3|200|||100|c22|1|none
# c23 logged twice: both rows are read, the metrics count it once
2026-11-20T09:20:00Z     |204|DeleteTask|sub-bravo  |user-2|204|||90 |c23|1|none
2026-11-20T09:21:00Z     |204|DeleteTask|sub-bravo  |user-2|204|||90 |c23|1|none
2026-11-20T10:00:00Z     |401|ListTasks |sub-bravo  |user-2|401|||45 |c25|1|client
# rule 6 by LastErrorSource alone
2026-11-20T10:10:00Z|500|GetTask|sub-alpha|user-1||forward-request||5000|c26|1|backend
2026-11-20T10:20:00Z     |200|GetTask   |sub-charlie|user-3|200|||70 |c27|1|none
"""
)
# 26 distinct requests (c23 once): none c01-c05,c21-c23,c27 = 9; throttled c06-c08 = 3;
# client c09-c12,c20,c25 = 6; backend c13-c16,c26 = 5; connector c17,c18,c19 = 3 (c18, c19
# unattributed). eligible 26-3 = 23; success 9/23; availability 1-3/23 = 20/23.
# SLO: sub-alpha 8 eligible, 1 connector (c17) -> miss; sub-bravo 8 (c23 once), 1 (c18) ->
# miss; sub-charlie 5 eligible (c05,c13,c15,c22,c27), 0 -> meets; sub-delta 1, 1 -> miss:
# 1 of 4. c09 has no connection. MAC(D) = 4.
APIM_METRICS = expected(
    none=9,
    throttled=3,
    client=6,
    backend=5,
    connector=3,
    connections=4,
    meeting=1,
    mac=4,
    unattributed=2,
    without_connection=1,
    duplicates=1,
)


def gateway_id(n: int) -> str:
    """correlationId of record n of the archived resource logs."""
    return f"6d1b2c3e-0000-4000-8000-{n:012d}"


# insights-logs-gatewaylogs/: two hours of resource logs (h=08: records 1-5, h=09: 6-9).
# Times carry Azure's 7 fractional digits, kept to the microsecond.
GATEWAYLOGS = "insights-logs-gatewaylogs"
RESOURCE_ID = (
    "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG-CONTOSO"
    "/PROVIDERS/MICROSOFT.APIMANAGEMENT/SERVICE/CONTOSO"
)
# Azure names the folder after the resource id: "resourceId=" + "/SUBSCRIPTIONS/...".
GATEWAYLOGS_DAY = DATA / GATEWAYLOGS / f"resourceId={RESOURCE_ID}/y=2026/m=11/d=19"
GATEWAYLOGS_HOURS = {
    hour: GATEWAYLOGS_DAY / f"h={hour}" / "m=00" / "PT1H.json" for hour in ("08", "09")
}
RESOURCE_LOG_ROWS = table(
    f"""
2026-11-19T08:00:01.123456Z|200|ListTasks |sub-alpha  |user-1|200|||120|{gateway_id(1)}|1|none
# rule 3: the backend said 503
2026-11-19T08:05:00Z|502|ListTasks|sub-alpha|user-1|503|||310|{gateway_id(2)}|1|backend
# rule 5: the backend answered 200, the set-body policy failed
2026-11-19T08:10:00.5Z|500|GetTask|sub-bravo|user-2|200|set-body|ExpressionValueEvaluationFailure|95|{gateway_id(3)}|1|connector
# rule 1; no backendResponseCode: the backend was not called
2026-11-19T08:20:00Z|429|ListTasks|sub-bravo|user-2||rate-limit-by-key|RateLimitExceeded|2|{gateway_id(4)}|1|throttled
2026-11-19T08:30:00Z|201|CreateTask|sub-charlie|user-3|201|||240|{gateway_id(5)}|1|none
# rule 7: lastError.reason Unauthorized (validate-jwt); no userId
2026-11-19T09:00:00Z|401|ListTasks|sub-charlie|||validate-jwt|Unauthorized|3|{gateway_id(6)}|1|client
# rule 6 by lastError.source alone: no backendResponseCode, no reason
2026-11-19T09:10:00Z|504|GetTask|sub-charlie|user-3||forward-request||30004|{gateway_id(7)}|1|backend
2026-11-19T09:20:00Z|200|ListTasks |sub-alpha  |user-1|200|||88 |{gateway_id(8)}|1|none
2026-11-19T09:30:00Z|204|DeleteTask|sub-bravo  |user-2|204|||60 |{gateway_id(9)}|1|none
"""
)
# 9 requests: none 1,5,8,9 = 4; throttled 4; client 6; backend 2,7 = 2; connector 3 (rule 5,
# attributed). eligible 9-1 = 8: success 4/8, availability 1-1/8 = 7/8 (numerator 7,
# denominator 8). SLO: sub-alpha (1,2,8) 0 connector -> meets; sub-bravo (3,9; 4 throttled)
# 1 -> miss; sub-charlie (5,6,7) 0 -> meets: 2 of 3. MAC(D) = 3.
RESOURCE_LOG_METRICS = expected(
    none=4,
    throttled=1,
    client=1,
    backend=2,
    connector=1,
    connections=3,
    meeting=2,
    mac=3,
    unattributed=0,
)

LEGACY_ROWS = table(
    """
2026-11-19T12:00:00Z|200|ListTasks |sub-alpha  |user-1|200|||100|L01|1|none
2026-11-19T12:01:00Z|201|CreateTask|sub-alpha  |user-1|201|||210|L02|1|none
2026-11-19T12:02:00Z|429|ListTasks|sub-bravo|user-2||rate-limit-by-key|RateLimitExceeded|1|L03|1|throttled
2026-11-19T12:03:00Z|401|ListTasks|||| authorization|SubscriptionKeyInvalid|1|L04|1|client
2026-11-19T12:04:00Z|404|GetTask   |sub-alpha  |user-1|404|||40 |L05|1|client
2026-11-19T12:05:00Z|503|ListTasks |sub-bravo  |user-2|503|||350|L06|1|backend
2026-11-19T12:06:00Z|504|ListTasks|sub-bravo|user-2||forward-request|Timeout|30000|L07|1|backend
2026-11-19T12:07:00Z|500|UpdateTask|sub-alpha|user-3|200|set-body|ExpressionValueEvaluationFailure|90|L08|1|connector
# backendResponseCode_d 0 (not reached) and empty: both null, rule 9
2026-11-19T12:08:00Z|500|GetTask   |sub-charlie|user-3|   |||3  |L09|1|connector*
2026-11-19T12:09:00Z|502|ListTasks |sub-charlie|user-3|   |||5  |L10|1|connector*
2026-11-19T12:10:00Z|200|ListTasks |sub-alpha  |user-1|200|||95 |L11|1|none
2026-11-19T12:11:00Z|500|CreateTask|sub-charlie|user-3|400|||60 |L12|1|client
"""
)
# none L01,L02,L11 = 3; throttled L03; client L04,L05,L12 = 3; backend L06,L07 = 2;
# connector L08,L09,L10 = 3 (2 unattributed). eligible 11: success 3/11, availability 8/11.
# SLO: sub-alpha 5 eligible, 1 connector -> miss; sub-bravo 2 (L06, L07), 0 -> meets;
# sub-charlie 3, 2 -> miss: 1 of 3. L04 has no connection.
LEGACY_METRICS = expected(
    none=3,
    throttled=1,
    client=3,
    backend=2,
    connector=3,
    connections=3,
    meeting=1,
    mac=3,
    unattributed=2,
    without_connection=1,
)

APPINSIGHTS_ROWS = table(
    """
2026-11-18T09:00:00Z|200|GET /tasks         |conn-1|u1|   |||120.5|r01|4|none
2026-11-18T09:30:00Z|201|POST /tasks        |conn-1|u1|   |||250  |r02|1|none
2026-11-18T10:00:00Z|200|GET /tasks/{id}    |conn-2|u2|   |||33.25|r03|2|none
2026-11-19T08:00:00Z|429|GET /tasks         |conn-2|u2|   |||2    |r04|1|throttled
2026-11-19T08:10:00Z|400|POST /tasks        |conn-1|u1|   |||15   |r05|1|client
# customDimensions.backendStatus: "404" (text), "503", 500 (a JSON number), "200"
2026-11-19T08:20:00Z|404|GET /tasks/{id}    |conn-3|u3|404|||40   |r06|2|client
2026-11-19T09:00:00Z|502|GET /tasks         |conn-3|u3|503|||310  |r07|1|backend
2026-11-19T09:10:00Z|500|GET /tasks         |conn-2|u2|500|||280  |r08|3|backend
2026-11-19T09:20:00Z|500|PUT /tasks/{id}    |conn-1|u1|200|||95   |r09|1|connector
2026-11-19T09:30:00Z|503|GET /tasks         |conn-3|u3|   |||5    |r10|1|connector*
2026-11-20T08:00:00Z|200|GET /tasks         |conn-3|u4|   |||101  |r11|5|none
# customDimensions is {}: no connection
2026-11-20T08:10:00Z|200|GET /tasks         |      |u4|   |||99   |r12|1|none
2026-11-20T08:20:00Z|204|DELETE /tasks/{id} |conn-4|u5|   |||60   |r13|1|none
2026-11-20T08:30:00Z|500|GET /tasks/{id}    |conn-4|u5|404|||70   |r14|1|client
2026-11-20T09:00:00Z|200|GET /tasks         |conn-4|u5|   |||88   |r15|2|none
2026-11-20T09:30:00Z|401|GET /tasks         |conn-4|u5|   |||3    |r16|1|client
"""
)
# Weighted (itemCount): none 4+1+2+5+1+1+2 = 16; throttled 1; client r05 1 + r06 2 + r14 1
# + r16 1 = 5; backend r07 1 + r08 3 = 4; connector r09 1 + r10 1 = 2 (r10 unattributed).
# requests 28, eligible 27: success 16/27, availability 25/27.
# SLO (weighted): conn-1 r01 4, r02, r05, r09 -> 7 eligible, 1 connector -> miss; conn-2
# r03 2, r08 3 -> 5, 0 -> meets; conn-3 r06 2, r07, r10, r11 5 -> 9, 1 -> miss; conn-4 r13-r16
# -> 5, 0 -> meets: 2 of 4. r12 has no connection. itemCount > 1: estimates.
APPINSIGHTS_METRICS = expected(
    none=16,
    throttled=1,
    client=5,
    backend=4,
    connector=2,
    connections=4,
    meeting=2,
    mac=4,
    unattributed=1,
    without_connection=1,
    estimated=True,
)

APPREQUESTS_ROWS = table(
    """
2026-11-20T08:00:00Z|200|GET /tasks      |conn-a|ua|   |||50 |w01|10|none
2026-11-20T08:05:00Z|200|GET /tasks      |conn-a|ua|   |||52 |w02|10|none
2026-11-20T08:10:00Z|429|GET /tasks      |conn-b|ub|   |||1  |w03|1 |throttled
2026-11-20T08:15:00Z|500|GET /tasks      |conn-b|ub|502|||400|w04|1 |backend
2026-11-20T08:20:00Z|500|POST /tasks     |conn-b|ub|201|||90 |w05|1 |connector
2026-11-20T08:25:00Z|503|GET /tasks      |conn-c|uc|   |||4  |w06|1 |connector*
2026-11-20T08:30:00Z|404|GET /tasks/{id} |conn-c|uc|   |||20 |w07|5 |client
2026-11-20T08:35:00Z|500|GET /tasks/{id} |conn-c|uc|401|||30 |w08|1 |client
2026-11-20T08:40:00Z|201|POST /tasks     |conn-c|uc|   |||140|w09|2 |none
2026-11-20T08:45:00Z|200|GET /tasks      |conn-d|ud|   |||60 |w10|20|none
"""
)
# Weighted (ItemCount): none 10+10+2+20 = 42; throttled 1; client w07 5 + w08 1 = 6;
# backend w04 1; connector w05 1 + w06 1 = 2 (w06 unattributed). requests 52, eligible 51:
# success 42/51, availability 49/51. SLO: conn-a 20, 0 -> meets; conn-b 2 (w04, w05), 1 ->
# miss; conn-c 1+5+1+2 = 9, 1 -> miss; conn-d 20, 0 -> meets: 2 of 4.
APPREQUESTS_METRICS = expected(
    none=42,
    throttled=1,
    client=6,
    backend=1,
    connector=2,
    connections=4,
    meeting=2,
    mac=4,
    unattributed=1,
    estimated=True,
)

# otlp_traces.json: SERVER span n starts at 2026-11-20T09:00Z + n-1 minutes; latency is
# end - start; the backend status comes from the CLIENT child (parentSpanId = the server
# span), found in the HTTP client's own scopeSpans; a failed CLIENT child without a status
# (error.type only) says the call to the backend failed: error_source forward-request.
OTLP_ROWS = table(
    "\n".join(
        line.replace("#ID", otlp_id(n))
        for n, line in [
            (1, "2026-11-20T09:00:00Z|200|/tasks     |c-1|e-1|200|||120  |#ID|1|none"),
            (2, "2026-11-20T09:01:00Z|201|/tasks     |c-1|e-1|   |||250  |#ID|1|none"),
            (3, "2026-11-20T09:02:00Z|429|/tasks     |c-2|e-2|   |||2    |#ID|1|throttled"),
            (4, "2026-11-20T09:03:00Z|404|/tasks/{id}|c-2|e-2|404|||40   |#ID|1|client"),
            (5, "2026-11-20T09:04:00Z|400|/tasks     |c-1|e-1|   |||8    |#ID|1|client"),
            (6, "2026-11-20T09:05:00Z|502|/tasks     |c-3|e-3|503||502|300|#ID|1|backend"),
            (7, "2026-11-20T09:06:00Z|500|/tasks/{id}|c-3|e-3|200||500|90 |#ID|1|connector"),
            (
                8,
                "2026-11-20T09:07:00Z|504|/tasks|c-2|e-2||forward-request|504|30000|#ID|1|backend",
            ),
            (
                9,
                "2026-11-20T09:08:00Z|500|/tasks|c-3|e-3|||System.InvalidOperationException|3"
                "|#ID|1|connector*",
            ),
            # old semantic conventions (http.status_code, intValue as a JSON number), no
            # http.route: the span name is the operation
            (10, "2026-11-20T09:09:00Z|200|GET        |c-4|e-4|200|||75   |#ID|1|none"),
            (11, "2026-11-20T09:10:00Z|500|/tasks/{id}|c-4|e-4|404||500|60 |#ID|1|client"),
            # second resourceSpans (another instance): CLIENT child 500, caller got 200
            (12, "2026-11-20T09:11:00Z|200|/tasks     |c-4|e-4|500|||45   |#ID|1|none"),
        ]
    )
)
# 12 SERVER spans (the INTERNAL span and the parentless CLIENT span are not requests):
# none 1,2,10,12 = 4; throttled 3; client 4,5,11 = 3; backend 6,8 = 2; connector 7,9 = 2
# (9 unattributed). eligible 11: success 4/11, availability 9/11. SLO: c-1 (1,2,5) 0 ->
# meets; c-2 (4,8; 3 throttled) 0 -> meets; c-3 (6,7,9) 2 -> miss; c-4 (10,11,12) 0 ->
# meets: 3 of 4.
OTLP_METRICS = expected(
    none=4,
    throttled=1,
    client=3,
    backend=2,
    connector=2,
    connections=4,
    meeting=3,
    mac=4,
    unattributed=1,
)


def collector_id(n: int) -> str:
    return f"0c0ffee000000000000000000000{n:04x}-5e0e00000000{n:04x}"


COLLECTOR_ROWS = table(
    f"""
2026-11-20T09:20:00Z|200|/tasks     |k-1|f-1|200|||100|{collector_id(1)}|1|none
2026-11-20T09:21:00Z|503|/tasks     |k-1|f-1|503||503|200|{collector_id(2)}|1|backend
2026-11-20T09:22:00Z|500|/tasks/{{id}}|k-2|f-2|200||500|80 |{collector_id(3)}|1|connector
2026-11-20T09:23:00Z|429|/tasks     |k-2|f-2|   |||2  |{collector_id(4)}|1|throttled
2026-11-20T09:24:00Z|200|/tasks     |k-2|f-3|   |||70 |{collector_id(5)}|1|none
"""
)
# none 2; throttled 1; backend 1; connector 1 (its CLIENT child said 200: rule 5, not
# unattributed). eligible 4: success 2/4, availability 3/4. SLO: k-1 (2 eligible, 0) meets;
# k-2 (2 eligible, 1 connector) misses: 1 of 2.
COLLECTOR_METRICS = expected(
    none=2,
    throttled=1,
    client=0,
    backend=1,
    connector=1,
    connections=2,
    meeting=1,
    mac=2,
    unattributed=0,
)

SOURCES = {
    # fixture: (--format, source sniffed by auto, connector, rows, metrics)
    "apim_gateway.jsonl": ("apim", "apim", "contoso-tasks", APIM_ROWS, APIM_METRICS),
    "apim_gateway.csv": ("apim", "apim", "contoso-tasks", APIM_ROWS, APIM_METRICS),
    "apim_gateway_array.json": ("apim", "apim", "contoso-tasks", APIM_ROWS, APIM_METRICS),
    "apim_azurediagnostics.csv": ("apim", "apim", "contoso-tasks", LEGACY_ROWS, LEGACY_METRICS),
    # the whole folder tree of archived resource logs (both PT1H.json files)
    GATEWAYLOGS: ("apim", "apim", "tasks-api", RESOURCE_LOG_ROWS, RESOURCE_LOG_METRICS),
    "appinsights_requests.csv": (
        "appinsights",
        "appinsights",
        "unnamed-connector",
        APPINSIGHTS_ROWS,
        APPINSIGHTS_METRICS,
    ),
    "appinsights_apprequests.json": (
        "appinsights",
        "appinsights",
        "unnamed-connector",
        APPREQUESTS_ROWS,
        APPREQUESTS_METRICS,
    ),
    "otlp_traces.json": ("otlp", "otlp", "contoso-tasks-api", OTLP_ROWS, OTLP_METRICS),
    "otlp_collector.jsonl": (
        "otlp",
        "otlp",
        "contoso-tasks-api",
        COLLECTOR_ROWS,
        COLLECTOR_METRICS,
    ),
}


# --- each source: canonical rows, sniffing, metrics --------------------------------------


@pytest.mark.parametrize("name", list(SOURCES))
def test_canonical_rows(name):
    fmt, sniffed, connector, rows, _ = SOURCES[name]
    sources, connectors, got = read(DATA / name, fmt)
    assert sources == {fmt}
    assert connectors == {connector}
    assert got == rows


@pytest.mark.parametrize("name", list(SOURCES))
def test_auto_format_sniffs_the_source(name):
    """--format auto tells each file's source from its columns or keys (test_metrics and
    the four-format test then read through auto as well)."""
    _, sniffed, _, _, _ = SOURCES[name]
    con = engine.connect()
    data = read_telemetry(con, [str(DATA / name)], "auto")
    assert data.sources == {sniffed}
    con.disconnect()


# apim_gateway.csv and apim_gateway_array.json read to the same rows as the JSON Lines file
# (test_canonical_rows), so their metrics are the same by construction.
@pytest.mark.parametrize(
    "name", [n for n in SOURCES if n not in ("apim_gateway.csv", "apim_gateway_array.json")]
)
def test_metrics(name):
    _, _, _, _, metrics = SOURCES[name]
    result = checked(name)
    assert summary(result) == metrics
    # Sampled App Insights data: SLO, WAU and MAC are distinct counts, so estimates.
    assert result.criterion("slo").estimate is metrics["estimated"]


def test_ga_toml_connector_id_names_the_logs_connector():
    """ga.toml's connector.id replaces the log's own API / service name (ApiId here)."""
    config = parse_config({"connector": {"id": "tasks-connector"}})
    result = check(config=config, telemetry=str(DATA / "apim_azurediagnostics.csv"), as_of=D)
    assert result.connector == "tasks-connector"
    assert summary(result) == LEGACY_METRICS


def test_unattributed_5xx_warning_names_the_field_that_resolves_them():
    """2 unattributed of 23 eligible (8.7% > 0.1%): a data-quality line says how many and
    which APIM field would attribute them."""
    result = checked("apim_gateway.jsonl")
    lines = [w for w in result.data_quality.warnings if "BackendResponseCode" in w]
    assert len(lines) == 1
    assert lines[0].startswith("2 ")


def test_policy_counts_unattributed_5xx_as_backend():
    """unattributed_5xx = "backend": c18 and c19 move from connector to backend faults:
    backend 5+2 = 7, connector 3-2 = 1, availability 1 - 1/23 = 22/23."""
    policy = load_policy()
    policy.attribution.unattributed_5xx = "backend"
    result = check(telemetry=str(DATA / "apim_gateway.jsonl"), fmt="apim", as_of=D, policy=policy)
    assert result.metrics.faults == {
        "none": 9,
        "client": 6,
        "backend": 7,
        "connector": 1,
        "throttled": 3,
    }
    assert result.metrics.availability == pytest.approx(22 / 23)
    assert result.data_quality.unattributed_5xx == 2  # still reported as unattributed


# --- [telemetry.fields] ------------------------------------------------------------------


def test_fields_connection_id_from_a_custom_dimension():
    """connection_id = customDimensions.tenantConnection: tc-A for r01-r05, r08, r09 and tc-B
    for r06, r07, r10, r11, r13-r16; r12 has none.
    tc-A: eligible 4+1+2+1+3+1 = 12 (r04 throttled), 1 connector (r09) -> miss;
    tc-B: eligible 2+1+1+5+1+1+2+1 = 14, 1 connector (r10) -> miss: 0 of 2."""
    fields = {"connection_id": "customDimensions.tenantConnection"}
    _, _, rows = read(DATA / "appinsights_requests.csv", "appinsights", fields)
    by_id = {r[9]: r[3] for r in rows}
    assert by_id["r01"] == by_id["r09"] == "tc-A"
    assert by_id["r06"] == by_id["r16"] == "tc-B"
    assert by_id["r12"] is None
    config = parse_config({"telemetry": {"fields": fields}})
    result = check(config=config, telemetry=str(DATA / "appinsights_requests.csv"), as_of=D)
    got = summary(result)
    assert (got["connections"], got["meeting"], got["slo"], got["mac"]) == (2, 0, 0.0, 2)
    assert got["without_connection"] == 1
    assert got["faults"] == APPINSIGHTS_METRICS["faults"]  # attribution is unchanged


def test_fields_connection_id_from_a_plain_column():
    """connection_id = UserId (APIM): user-1 (c17 connector) miss; user-2 (c18) miss; user-3
    (c05,c13,c15,c22,c27) meets; user-4 (c11, c20) meets; user-5 (c19) miss: 2 of 5.
    c09 has no UserId."""
    config = parse_config({"telemetry": {"fields": {"connection_id": "UserId"}}})
    result = check(config=config, telemetry=str(DATA / "apim_gateway.jsonl"), as_of=D)
    got = summary(result)
    assert (got["connections"], got["meeting"], got["mac"]) == (5, 2, 5)
    assert got["slo"] == pytest.approx(2 / 5)
    assert got["without_connection"] == 1


def test_fields_user_id_from_a_column():
    """user_id = user_Id is the default; user_id = customDimensions.connectionId is honoured."""
    fields = {"user_id": "customDimensions.connectionId"}
    _, _, rows = read(DATA / "appinsights_requests.csv", "appinsights", fields)
    assert {r[9]: r[4] for r in rows}["r01"] == "conn-1"


def test_fields_otlp_attribute_names():
    """OTLP: connection and user ids from the configured span attributes."""
    fields = {"connection_id": "tenant.connection", "user_id": "connection.id"}
    _, _, rows = read(DATA / "otlp_traces.json", "otlp", fields)
    assert {r[3] for r in rows} == {"tenant-c-1", "tenant-c-2", "tenant-c-3", "tenant-c-4"}
    assert {r[4] for r in rows} == {"c-1", "c-2", "c-3", "c-4"}


@pytest.mark.parametrize(
    "name, fields",
    [
        ("apim_gateway.jsonl", {"connection_id": "TenantConnection"}),
        ("apim_azurediagnostics.csv", {"user_id": "enduser_s"}),
        (GATEWAYLOGS, {"connection_id": "TenantConnection"}),
        ("appinsights_requests.csv", {"connection_id": "Dimensions.tenant"}),
        ("appinsights_apprequests.json", {"user_id": "UserName"}),
        ("otlp_traces.json", {"connection_id": "no.such.attribute"}),
    ],
)
def test_fields_that_do_not_exist_name_the_key_and_the_file(name, fields):
    """A configured field the file does not have is an error naming the ga.toml key and the
    file (for OTLP: an attribute no SERVER span carries), not a silent column of nulls."""
    key = next(iter(fields))
    config = parse_config({"telemetry": {"fields": fields}})
    with pytest.raises(InputError) as caught:
        check(config=config, telemetry=str(DATA / name), as_of=D)
    message = str(caught.value)
    assert f"telemetry.fields.{key}" in message
    assert name in message


# --- the same traffic in four formats ----------------------------------------------------

# One list of requests: (time, status, backend status or None, connection, user, operation).
# Every case is expressible in all four formats: throttled by 429, the backend's status as
# a column / backendStatus custom dimension / CLIENT child span.
TRAFFIC = [
    ("2026-11-09T09:00", 200, 200, "k1", "p1", "ListTasks"),  # 1 none
    ("2026-11-09T10:00", 201, 201, "k1", "p1", "CreateTask"),  # 2 none
    ("2026-11-10T09:00", 200, 200, "k2", "p2", "ListTasks"),  # 3 none
    ("2026-11-10T11:00", 429, None, "k2", "p2", "ListTasks"),  # 4 throttled
    ("2026-11-11T09:00", 404, 404, "k2", "p2", "GetTask"),  # 5 client (rule 4)
    ("2026-11-11T10:00", 400, None, "k3", "p3", "CreateTask"),  # 6 client (rule 8)
    ("2026-11-12T09:00", 502, 503, "k3", "p3", "ListTasks"),  # 7 backend
    ("2026-11-12T10:00", 200, 200, "k3", "p3", "ListTasks"),  # 8 none
    ("2026-11-13T09:00", 500, 200, "k4", "p4", "UpdateTask"),  # 9 connector (rule 5)
    ("2026-11-13T10:00", 200, 200, "k4", "p4", "GetTask"),  # 10 none
    ("2026-11-14T09:00", 503, None, "k4", "p4", "ListTasks"),  # 11 unattributed
    ("2026-11-15T09:00", 200, 200, "k5", "p5", "ListTasks"),  # 12 none
    ("2026-11-16T09:00", 200, 200, "k1", "p1", "ListTasks"),  # 13 none
    ("2026-11-16T10:00", 429, 429, "k1", "p6", "ListTasks"),  # 14 throttled (rule 1 first)
    ("2026-11-16T11:00", 500, 500, "k1", "p6", "GetTask"),  # 15 backend
    ("2026-11-17T09:00", 304, 304, "k2", "p2", "GetTask"),  # 16 none
    ("2026-11-17T10:00", 500, 404, "k2", "p2", "GetTask"),  # 17 client (rule 4)
    ("2026-11-17T11:00", 200, 200, "k5", "p5", "ListTasks"),  # 18 none
    ("2026-11-18T09:00", 401, None, "k5", "p5", "ListTasks"),  # 19 client (rule 8)
    ("2026-11-18T10:00", 200, 500, "k5", "p5", "ListTasks"),  # 20 none (rule 2)
    ("2026-11-18T11:00", 504, 504, "k3", "p3", "ListTasks"),  # 21 backend
    ("2026-11-19T09:00", 500, 201, "k3", "p3", "CreateTask"),  # 22 connector (rule 5)
    ("2026-11-19T10:00", 200, 200, "k4", "p1", "ListTasks"),  # 23 none
    ("2026-11-19T11:00", 502, None, "k5", "p6", "ListTasks"),  # 24 unattributed
    ("2026-11-20T08:00", 200, 200, "k1", "p1", "ListTasks"),  # 25 none
    ("2026-11-20T09:00", 204, 204, "k1", "p1", "DeleteTask"),  # 26 none
    ("2026-11-20T10:00", 429, None, "k3", "p3", "ListTasks"),  # 27 throttled
    ("2026-11-20T11:00", 200, 200, "k2", "p2", "ListTasks"),  # 28 none
    ("2026-11-20T12:00", 403, 403, "k4", "p4", "UpdateTask"),  # 29 client (rule 4)
    ("2026-11-20T13:00", 200, 200, None, "p6", "ListTasks"),  # 30 none, no connection
]
# none 1,2,3,8,10,12,13,16,18,20,23,25,26,28,30 = 15; throttled 4,14,27 = 3; client
# 5,6,17,19,29 = 5; backend 7,15,21 = 3; connector 9,11,22,24 = 4 (11, 24 unattributed).
# eligible 30-3 = 27: success 15/27, availability 1-4/27 = 23/27.
# SLO: k1 (1,2,13,15,25,26) 0 connector -> meets; k2 (3,5,16,17,28) 0 -> meets; k3
# (6,7,8,21,22) 1 -> miss; k4 (9,10,11,23,29) 2 -> miss; k5 (12,18,19,20,24) 1 -> miss:
# 2 of 5. Row 30 has no connection. MAC(D) = 5.
TRAFFIC_METRICS = expected(
    none=15,
    throttled=3,
    client=5,
    backend=3,
    connector=4,
    connections=5,
    meeting=2,
    mac=5,
    unattributed=2,
    without_connection=1,
)
# WAU: D = Fri 2026-11-20, last complete ISO weeks W44, W45, W46 (Mon 11-09 - Sun 11-15);
# W46 holds rows 1-12: p1, p2, p3, p4, p5 = 5 users; W44 and W45 none.
TRAFFIC_WAU = [("2026-W44", 0), ("2026-W45", 0), ("2026-W46", 5)]


def _when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text + ":00+00:00")


def write_canonical(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["time", "status", "connector", "operation", "connection_id", "user_id"]
            + ["backend_status", "request_id"]
        )
        for i, (time, status, backend, conn, user, op) in enumerate(TRAFFIC, start=1):
            writer.writerow(
                [time + ":00Z", status, "contoso-tasks", op, conn or "", user]
                + ["" if backend is None else backend, f"q{i:02d}"]
            )
    return path


def write_apim(path: Path) -> Path:
    records = []
    for i, (time, status, backend, conn, user, op) in enumerate(TRAFFIC, start=1):
        record = {
            "TimeGenerated": time + ":00.0000000Z",
            "OperationName": "Microsoft.ApiManagement/GatewayLogs",
            "CorrelationId": f"q{i:02d}",
            "Region": "West Europe",
            "IsRequestSuccess": status < 400,
            "Category": "GatewayLogs",
            "TotalTime": 100,
            "Method": "GET",
            "ResponseCode": status,
            "BackendResponseCode": 0 if backend is None else backend,
            "ApiId": "tasks-api",
            "OperationId": op,
            "UserId": user,
        }
        if conn:
            record["ApimSubscriptionId"] = conn
        if status == 429 and backend is None:
            record["LastErrorSource"] = "rate-limit-by-key"
            record["LastErrorReason"] = "RateLimitExceeded"
        records.append(record)
    path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return path


def write_appinsights(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["timestamp", "id", "name", "success", "resultCode", "duration"]
            + ["customDimensions", "operation_Id", "user_Id", "itemCount"]
        )
        for i, (time, status, backend, conn, user, op) in enumerate(TRAFFIC, start=1):
            dims = {}
            if conn:
                dims["connectionId"] = conn
            if backend is not None:
                dims["backendStatus"] = str(backend)
            writer.writerow(
                [time + ":00.000Z", f"q{i:02d}", op, str(status < 400), status, 100.0]
                + [json.dumps(dims), f"{i:032x}", user, 1]
            )
    return path


def write_otlp(path: Path) -> Path:
    def attr(key, value):
        kind = "intValue" if isinstance(value, int) else "stringValue"
        return {"key": key, "value": {kind: str(value)}}

    servers, clients = [], []
    for i, (time, status, backend, conn, user, op) in enumerate(TRAFFIC, start=1):
        start = int(_when(time).timestamp()) * 1_000_000_000
        attrs = [attr("http.route", "/" + op), attr("http.response.status_code", status)]
        attrs.append(attr("enduser.id", user))
        if conn:
            attrs.append(attr("connection.id", conn))
        if status >= 500:
            attrs.append(attr("error.type", str(status)))
        servers.append(
            {
                "traceId": f"{i:032x}",
                "spanId": f"{i:016x}",
                "name": op,
                "kind": 2,
                "startTimeUnixNano": str(start),
                "endTimeUnixNano": str(start + 100_000_000),
                "attributes": attrs,
            }
        )
        if backend is not None:
            clients.append(
                {
                    "traceId": f"{i:032x}",
                    "spanId": f"{1000 + i:016x}",
                    "parentSpanId": f"{i:016x}",
                    "name": "GET",
                    "kind": 3,
                    "startTimeUnixNano": str(start + 1_000_000),
                    "endTimeUnixNano": str(start + 90_000_000),
                    "attributes": [attr("http.response.status_code", backend)],
                }
            )
    document = {
        "resourceSpans": [
            {
                "resource": {"attributes": [attr("service.name", "tasks-api")]},
                "scopeSpans": [
                    {"scope": {"name": "server"}, "spans": servers},
                    {"scope": {"name": "http-client"}, "spans": clients},
                ],
            }
        ]
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_same_traffic_in_four_formats_gives_identical_metrics(tmp_path):
    files = {
        "canonical": write_canonical(tmp_path / "traffic.csv"),
        "apim": write_apim(tmp_path / "traffic-apim.json"),
        "appinsights": write_appinsights(tmp_path / "traffic-appinsights.csv"),
        "otlp": write_otlp(tmp_path / "traffic-otlp.json"),
    }
    config = parse_config({"connector": {"id": "contoso-tasks"}})
    con = engine.connect()
    for source, path in files.items():  # auto sniffs each one
        assert read_telemetry(con, [str(path)], "auto").sources == {source}
    con.disconnect()
    results = {}
    for source, path in files.items():
        fmt = "csv" if source == "canonical" else source
        results[source] = check(config=config, telemetry=str(path), fmt=fmt, as_of=D)
    for source, result in results.items():
        assert result.connector == "contoso-tasks", source
        assert summary(result) == TRAFFIC_METRICS, source
        wau = [(w.week, w.users) for w in result.metrics.wau]
        assert wau == TRAFFIC_WAU, source
        criteria = {c.id: c.status for c in result.criteria}
        assert criteria == {c.id: c.status for c in results["canonical"].criteria}, source
        assert result.verdict == results["canonical"].verdict


# --- what a publisher's real exports look like ---------------------------------------------


def test_otlp_client_child_in_another_line_of_a_collector_file(tmp_path):
    """The collector's file exporter writes a batch per line; a CLIENT span ends before its
    SERVER parent, so it often lands in an earlier batch. The backend status still belongs
    to the SERVER span: 502 to the caller over a backend 503 is a backend fault."""
    server = {
        "traceId": "ab" * 16,
        "spanId": "cd" * 8,
        "kind": 2,
        "name": "GET /tasks",
        "startTimeUnixNano": "1795165200000000000",
        "endTimeUnixNano": "1795165200300000000",
        "attributes": [
            {"key": "http.response.status_code", "value": {"intValue": "502"}},
            {"key": "connection.id", "value": {"stringValue": "c-9"}},
        ],
    }
    client = {
        "traceId": "ab" * 16,
        "spanId": "ef" * 8,
        "parentSpanId": "cd" * 8,
        "kind": 3,
        "name": "GET",
        "startTimeUnixNano": "1795165200001000000",
        "endTimeUnixNano": "1795165200290000000",
        "attributes": [{"key": "http.response.status_code", "value": {"intValue": "503"}}],
    }

    def batch(span):
        resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]}
        scope = {"scope": {"name": "s"}, "spans": [span]}
        return json.dumps({"resourceSpans": [{"resource": resource, "scopeSpans": [scope]}]})

    path = tmp_path / "split.jsonl"
    path.write_text(batch(client) + "\n" + batch(server) + "\n", encoding="utf-8")
    _, _, rows = read(path, "otlp")
    assert [(r[1], r[5], r[11]) for r in rows] == [(502, 503, "backend")]


def test_apim_csv_exported_from_the_log_analytics_portal(tmp_path):
    """The portal's "Export to CSV" names the time column `TimeGenerated [UTC]` and writes
    times as `11/19/2026, 9:05:00.250 AM`; a publisher exports exactly that."""
    path = tmp_path / "query_data.csv"
    path.write_text(
        '"TimeGenerated [UTC]",ResponseCode,BackendResponseCode,ApimSubscriptionId,CorrelationId\n'
        '"11/19/2026, 9:05:00.250 AM",200,200,sub-alpha,p1\n'
        '"11/19/2026, 1:30:00.000 PM",502,503,sub-alpha,p2\n',
        encoding="utf-8",
    )
    sources, _, rows = read(path, "auto")
    assert sources == {"apim"}
    assert [(r[0], r[1], r[11]) for r in rows] == [
        (dt.datetime(2026, 11, 19, 9, 5, 0, 250000, tzinfo=dt.UTC), 200, "none"),
        (dt.datetime(2026, 11, 19, 13, 30, tzinfo=dt.UTC), 502, "backend"),
    ]


# --- APIM resource logs, as a diagnostic setting archives them -------------------------------


@pytest.mark.parametrize("fmt", ["apim", "auto"])
@pytest.mark.parametrize("hour", list(GATEWAYLOGS_HOURS))
def test_resource_log_hour_file_alone(hour, fmt):
    """One PT1H.json read alone gives exactly that hour's records (h=08: 1-5, h=09: 6-9)."""
    sources, connectors, rows = read(GATEWAYLOGS_HOURS[hour], fmt)
    assert sources == {"apim"}
    assert connectors == {"tasks-api"}
    assert rows == [row for row in RESOURCE_LOG_ROWS if row[0].hour == int(hour)]


def test_resource_log_folder_on_each_engine(engine_name):
    """The folder tree, sniffed, on DuckDB and Spark (`properties` is read as its JSON text by
    both; its keys through engine.json_key): availability 7/8, as RESOURCE_LOG_METRICS."""
    result = check(telemetry=str(DATA / GATEWAYLOGS), as_of=D, engine=engine_name, trajectory=False)
    assert result.connector == "tasks-api"
    assert summary(result) == RESOURCE_LOG_METRICS
    availability = result.criterion("availability")
    assert (availability.numerator, availability.denominator) == (7, 8)


@pytest.mark.parametrize("fmt", [[], ["--format", "apim"]])
def test_resource_log_folder_through_the_cli(monkeypatch, fmt):
    """`connector-ga check -t insights-logs-gatewaylogs/ --json -` run where the storage
    container was downloaded: not ready (availability 7/8, success 4/8), exit 1."""
    monkeypatch.chdir(DATA)
    args = ["check", "-t", f"{GATEWAYLOGS}/", "--as-of", "2026-11-20", "--json", "-", *fmt]
    got = CliRunner().invoke(app, args, env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert got.exit_code == 1, got.stderr
    result = json.loads(got.stdout)
    assert result["connector"] == "tasks-api"
    metrics = result["metrics"]
    assert (metrics["requests"], metrics["eligible"], metrics["throttled"]) == (9, 8, 1)
    assert metrics["faults"] == RESOURCE_LOG_METRICS["faults"]
    criteria = {c["id"]: c for c in result["criteria"]}
    assert (criteria["availability"]["numerator"], criteria["availability"]["denominator"]) == (
        7,
        8,
    )
    assert (criteria["success-rate"]["numerator"], criteria["success-rate"]["denominator"]) == (
        4,
        8,
    )
    assert result["data_quality"]["rows"] == 9
    assert result["data_quality"]["rejected_rows"] == 0


def test_fields_on_resource_logs():
    """connection_id = properties.productId (a key inside `properties`), user_id =
    callerIpAddress (a top-level key): every record has productId "starter" and caller
    203.0.113.7. One connection: 8 eligible, 1 connector fault (record 3) -> misses: 0 of 1."""
    fields = {"connection_id": "properties.productId", "user_id": "callerIpAddress"}
    _, _, rows = read(DATA / GATEWAYLOGS, "apim", fields)
    assert {row[3] for row in rows} == {"starter"}
    assert {row[4] for row in rows} == {"203.0.113.7"}
    assert [row[11] for row in rows] == [row[11] for row in RESOURCE_LOG_ROWS]  # same faults
    config = parse_config({"telemetry": {"fields": fields}})
    result = check(config=config, telemetry=str(DATA / GATEWAYLOGS), as_of=D)
    got = summary(result)
    assert (got["connections"], got["meeting"], got["mac"], got["slo"]) == (1, 0, 1, 0.0)
    assert got["faults"] == RESOURCE_LOG_METRICS["faults"]


def write_bad_resource_log(folder: Path) -> Path:
    """A PT1H.json whose lines 2-5 cannot give a status: `properties` a string (2), an array
    (3), an object without responseCode (4), responseCode "abc" (5). Lines 1 and 6 are
    records 1 and 8 of the fixture (200, 200)."""
    good = [
        json.loads(line)
        for path in GATEWAYLOGS_HOURS.values()
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    bad = []
    for properties in (
        "not an object",
        [200],
        {"method": "GET", "apiId": "tasks-api", "apimSubscriptionId": "sub-alpha"},
        {"responseCode": "abc", "apiId": "tasks-api", "apimSubscriptionId": "sub-alpha"},
    ):
        bad.append({**good[0], "correlationId": f"bad-{len(bad) + 2}", "properties": properties})
    folder = folder / "y=2026" / "m=11" / "d=19" / "h=08" / "m=00"
    folder.mkdir(parents=True)
    path = folder / "PT1H.json"
    lines = [good[0], *bad, good[7]]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


def test_resource_log_record_without_a_status_is_a_located_reject(tmp_path, engine_name):
    """4 of 6 rows rejected for their status, each at its line; the other 2 are requests.
    (Sniffed and through the CLI: the apim-resource-log-no-status bad-input case.)"""
    path = write_bad_resource_log(tmp_path / "gatewaylogs")
    result = check(
        telemetry=str(tmp_path),
        fmt="apim",
        as_of=D,
        max_reject_rate=1.0,
        engine=engine_name,
        trajectory=False,
    )
    quality = result.data_quality
    assert result.metrics.requests == 2
    assert quality.rejected_rows == 4
    assert quality.rejects_by_reason == {"status": 4}
    lines = sorted(int(s.split(f"{path.name}:")[1].split(":")[0]) for s in quality.reject_samples)
    assert lines == [2, 3, 4, 5]
    assert all(": status: expected an integer" in s for s in quality.reject_samples)


def test_canonical_file_with_resource_log_keys_stays_canonical(tmp_path):
    """time + resourceId + category + properties, but its own `status`: canonical, not APIM."""
    path = tmp_path / "canonical.jsonl"
    row = {"time": "2026-11-20T08:00:00Z", "status": 200, "resourceId": "r", "category": "c"}
    path.write_text(json.dumps({**row, "properties": {"a": 1}}) + "\n", encoding="utf-8")
    con = engine.connect()
    assert read_telemetry(con, [str(path)], "auto").sources == {"canonical"}
    con.disconnect()


def test_apim_format_on_a_file_of_neither_shape_says_what_each_needs(tmp_path):
    """--format apim on JSON with neither TimeGenerated nor time + properties."""
    path = tmp_path / "other.jsonl"
    path.write_text('{"when": "2026-11-20T08:00:00Z", "code": 200}\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        check(telemetry=str(path), fmt="apim", as_of=D)
    message = str(caught.value)
    assert "other.jsonl" in message
    assert "TimeGenerated" in message
    assert "time and properties" in message


# --- bad input, per format, through the CLI -------------------------------------------------


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _bad_inputs(root: Path) -> dict[str, tuple[list[str], str]]:
    """name -> (CLI args, the file:line or text the message must hold)."""
    cases: dict[str, tuple[list[str], str]] = {}
    # APIM JSON array cut in the middle of line 40 (`    "TotalTime": 3` -> `    "Tota`).
    array = _lines(DATA / "apim_gateway_array.json")
    cut = root / "apim-truncated.json"
    cut.write_text("\n".join(array[:39]) + "\n" + array[39][:10], encoding="utf-8")
    cases["apim-truncated-array"] = (["--format", "apim"], f"{cut.name}:40")
    # APIM JSON Lines whose 5th (last) line is cut short.
    jsonl = _lines(DATA / "apim_gateway.jsonl")
    cut = root / "apim-truncated.jsonl"
    cut.write_text("\n".join(jsonl[:4] + [jsonl[4][:80]]) + "\n", encoding="utf-8")
    cases["apim-truncated-jsonl"] = (["--format", "apim"], f"{cut.name}:5")
    # OTLP, one document per line, line 3 not JSON at all.
    otlp_lines = _lines(DATA / "otlp_collector.jsonl")
    bad = root / "otlp-bad-line.jsonl"
    bad.write_text("\n".join(otlp_lines[:2] + ['{"resourceSpans": [oops']) + "\n")
    cases["otlp-invalid-line-3"] = (["--format", "otlp"], f"{bad.name}:3")
    # Wrong types: ResponseCode "abc" on line 3 of 5 (one rejected row, 20% > 0).
    rows = [json.loads(line) for line in jsonl[:5]]
    rows[2]["ResponseCode"] = "abc"
    typed = root / "apim-wrong-type.jsonl"
    typed.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    cases["apim-wrong-type"] = (["--format", "apim", "--max-reject-rate", "0"], f"{typed.name}:3")
    # App Insights CSV, itemCount "many" on the 4th line (header is line 1).
    ai = _lines(DATA / "appinsights_requests.csv")
    broken = ai[3].rsplit(",", 1)[0] + ",many"
    weights = root / "appinsights-wrong-type.csv"
    weights.write_text("\n".join(ai[:3] + [broken] + ai[4:]) + "\n", encoding="utf-8")
    cases["appinsights-wrong-type"] = (
        ["--format", "appinsights", "--max-reject-rate", "0"],
        f"{weights.name}:4",
    )
    # OTLP: a status code that is not a number, in the document on line 2.
    docs = [json.loads(line) for line in otlp_lines]
    span = docs[1]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    for item in span["attributes"]:
        if item["key"] == "http.response.status_code":
            item["value"] = {"stringValue": "abc"}
    otlp_typed = root / "otlp-wrong-type.jsonl"
    otlp_typed.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    cases["otlp-wrong-type"] = (
        ["--format", "otlp", "--max-reject-rate", "0"],
        f"{otlp_typed.name}:2",
    )
    # An APIM export without ResponseCode (nor responseCode_d).
    missing = root / "apim-no-responsecode.jsonl"
    missing.write_text(
        "".join(
            json.dumps({k: v for k, v in json.loads(line).items() if k != "ResponseCode"}) + "\n"
            for line in jsonl[:3]
        ),
        encoding="utf-8",
    )
    cases["apim-missing-responsecode"] = (["--format", "apim"], "ResponseCode")
    # Archived APIM resource logs, a folder tree; lines 2-5 of its PT1H.json give no status
    # (4 of 6 rows rejected, over the default 1%).
    write_bad_resource_log(root / "bad-gatewaylogs")
    cases["apim-resource-log-no-status"] = ([], "PT1H.json:2")
    # An unknown format.
    cases["unknown-format"] = (["--format", "xml"], "--format xml")
    return cases


# One bad file per format runs as a real subprocess (about two seconds of start-up each, run
# concurrently); the rest run in-process through typer's CliRunner, which goes through the
# same command and error handling.
SUBPROCESS_CASES = ("apim-truncated-array", "otlp-invalid-line-3", "appinsights-wrong-type")
BAD_FILES = {
    "apim-truncated-array": "apim-truncated.json",
    "apim-truncated-jsonl": "apim-truncated.jsonl",
    "otlp-invalid-line-3": "otlp-bad-line.jsonl",
    "apim-wrong-type": "apim-wrong-type.jsonl",
    "appinsights-wrong-type": "appinsights-wrong-type.csv",
    "otlp-wrong-type": "otlp-wrong-type.jsonl",
    "apim-missing-responsecode": "apim-no-responsecode.jsonl",
    "apim-resource-log-no-status": "bad-gatewaylogs",
    "unknown-format": "apim-wrong-type.jsonl",
}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    crashed: str | None  # an exception that escaped the CLI (in-process runs)


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory) -> dict[str, tuple[Run, str]]:
    root = tmp_path_factory.mktemp("bad-input")
    cases = _bad_inputs(root)

    def args_of(name):
        file = str(root / BAD_FILES[name])
        return ["check", "--telemetry", file, "--as-of", "2026-11-20", *cases[name][0]]

    def run(name):
        proc = subprocess.run(
            [*CLI, *args_of(name)], cwd=root, env=ENV, capture_output=True, text=True, timeout=120
        )
        return Run(proc.returncode, proc.stdout, proc.stderr, None)

    runs: dict[str, tuple[Run, str]] = {}
    with ThreadPoolExecutor(max_workers=len(SUBPROCESS_CASES)) as pool:
        futures = {name: pool.submit(run, name) for name in SUBPROCESS_CASES}
        runner = CliRunner()
        env = {"COLUMNS": "200", "NO_COLOR": "1"}
        for name in cases:
            if name not in SUBPROCESS_CASES:
                got = runner.invoke(app, args_of(name), env=env)
                crashed = None
                if got.exception is not None and not isinstance(got.exception, SystemExit):
                    crashed = repr(got.exception)
                runs[name] = (Run(got.exit_code, got.stdout, got.stderr, crashed), cases[name][1])
        ok = runner.invoke(
            app,
            ["check", "--telemetry", str(DATA / "apim_gateway.jsonl"), "--format", "apim"]
            + ["--as-of", "2026-11-20", "--json", "-"],
            env=env,
        )
        runs["ok"] = (Run(ok.exit_code, ok.stdout, ok.stderr, None), "")
        for name, future in futures.items():
            runs[name] = (future.result(), cases[name][1])
    return runs


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_input_exits_2_naming_file_and_line(bad_runs, name):
    run, where = bad_runs[name]
    text = " ".join((run.stderr + run.stdout).split())
    assert run.crashed is None
    assert "Traceback" not in text
    assert run.code == 2, text
    assert where in text, text
    assert "error:" in text


def test_bad_input_missing_column_names_the_file(bad_runs):
    run, _ = bad_runs["apim-missing-responsecode"]
    assert "apim-no-responsecode.jsonl" in run.stderr


def test_check_telemetry_in_place_through_the_cli(bad_runs):
    """`check --telemetry F --format apim`: not ready (availability 20/23), exit 1."""
    run, _ = bad_runs["ok"]
    assert run.code == 1, run.stderr
    result = json.loads(run.stdout)
    assert result["metrics"]["requests"] == 26
    assert result["metrics"]["faults"] == APIM_METRICS["faults"]
    assert result["data_quality"]["unattributed_5xx"] == 2


def test_wrong_type_below_the_limit_is_a_rejected_row(tmp_path):
    """ResponseCode "abc" in one row of 101 (0.99% <= 1%): counted and located, not fatal.
    The other 100 rows are 200s on sub-x, so requests = 100."""
    path = tmp_path / "mostly-good.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(101):
            code = "abc" if i == 41 else 200  # line 42
            row = {"TimeGenerated": f"2026-11-20T08:{i % 60:02d}:00Z", "ResponseCode": code}
            row.update({"BackendResponseCode": 200, "ApimSubscriptionId": "sub-x"})
            row["CorrelationId"] = f"m{i:03d}"
            handle.write(json.dumps(row) + "\n")
    result = check(telemetry=str(path), fmt="apim", as_of=D)
    assert result.metrics.requests == 100
    assert result.data_quality.rejected_rows == 1
    assert result.data_quality.rejects_by_reason == {"status": 1}
    assert any("mostly-good.jsonl:42" in s for s in result.data_quality.reject_samples)


def test_folder_names_are_never_columns(tmp_path, engine_name):
    # Azure's archives live under `y=2026/m=11/` folders; a folder named like a canonical
    # column (`status=503/`) must not override the files' own values. Three files of the
    # three containers, one request each, all 200: 3 requests, 3 successes.
    folder = tmp_path / "status=503" / "fault=connector"
    folder.mkdir(parents=True)
    row = {"time": "2026-11-20T10:00:00Z", "status": 200, "connector": "hive"}
    (folder / "a.csv").write_text("time,status,connector\n2026-11-20T10:00:01Z,200,hive\n")
    (folder / "b.jsonl").write_text(json.dumps(row) + "\n")
    pd.DataFrame([{**row, "time": pd.Timestamp("2026-11-20T10:00:02Z")}]).to_parquet(
        folder / "c.parquet"
    )
    result = check(telemetry=[str(tmp_path)], as_of=D, engine=engine_name, trajectory=False)
    assert result.metrics.requests == 3
    assert result.metrics.successes == 3  # not 0: status stays 200
    assert result.metrics.faults["connector"] == 0  # the folder's fault=connector ignored
