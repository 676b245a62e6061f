"""`ingest --from azure` (issue 19 parts 1–3, DESIGN.md "Telemetry where Azure keeps it"):
Azure Monitor Logs read through the real `azure-monitor-query` client and azure-identity's
real AzureCliCredential, against a loopback HTTPS stand-in of the Logs query API
(tests/logs_standin.py) and a stand-in `az` on PATH. Nothing reaches a Microsoft host.

Every expected number is counted by hand in the comment next to it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from logs_standin import WORKSPACE, LogsStandIn, az_on_path, make_certificate, serve
from typer.testing import CliRunner

from connector_ga.cli import app
from connector_ga.store import Store

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
COLUMNS = [
    ("TimeGenerated", "datetime"),
    ("CorrelationId", "string"),
    ("ResponseCode", "int"),
    ("BackendResponseCode", "int"),
    ("LastErrorSource", "string"),
    ("LastErrorReason", "string"),
    ("OperationId", "string"),
    ("ApiId", "string"),
    ("UserId", "string"),
    ("ApimSubscriptionId", "string"),
    ("TotalTime", "real"),
]


def gateway(time, cid, status, backend=None, api="contoso-tasks", sub="sub-alpha"):
    return {
        "TimeGenerated": time,
        "CorrelationId": cid,
        "ResponseCode": status,
        "BackendResponseCode": backend if backend is not None else 0,
        "LastErrorSource": None,
        "LastErrorReason": None,
        "OperationId": "ListTasks",
        "ApiId": api,
        "UserId": "raw-user-1",
        "ApimSubscriptionId": sub,
        "TotalTime": 100.0,
    }


# Ten gateway rows over 2026-11-01..03; the last is another API, left out by the filter.
ROWS = [
    gateway("2026-11-01T09:00:00Z", "c01", 200, 200),  # none
    gateway("2026-11-01T10:00:00Z", "c02", 201, 201),  # none
    gateway("2026-11-01T11:00:00Z", "c03", 500, 200),  # connector (backend fine)
    gateway("2026-11-02T09:00:00Z", "c04", 429, sub="sub-bravo"),  # throttled
    gateway("2026-11-02T10:00:00Z", "c05", 502, 503, sub="sub-bravo"),  # backend
    gateway("2026-11-02T11:00:00Z", "c06", 404, 404, sub="sub-bravo"),  # client
    gateway("2026-11-03T09:00:00Z", "c07", 200, 200),  # none
    gateway("2026-11-03T10:00:00Z", "c08", 503),  # connector (unattributed 5xx)
    gateway("2026-11-03T11:00:00Z", "c09", 200, 200),  # none
    gateway("2026-11-03T12:00:00Z", "c10", 200, 200, api="other-api"),  # filtered out
]
# requests 9; eligible 9 - 1 throttled = 8; connector faults c03, c08 = 2;
# availability 1 - 2/8 = 0.75; success rate 4/8 = 0.5 (c01, c02, c07, c09).
FAULTS = {"none": 4, "connector": 2, "throttled": 1, "backend": 1, "client": 1}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def logs(certificate, tmp_path, monkeypatch):
    """The stand-in Logs API, serving ROWS; the test process trusts its certificate and
    finds the stand-in `az` first on PATH."""
    state = LogsStandIn()
    state.add_rows("ApiManagementGatewayLogs", COLUMNS, [dict(r) for r in ROWS])
    server = serve(state, *certificate)
    bin_dir = az_on_path(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield state
    server.shutdown()
    server.server_close()


def ga_toml(folder: Path, url: str, **azure) -> Path:
    settings = {
        "workspace": WORKSPACE,
        "table": "ApiManagementGatewayLogs",
        "where": "ApiId == 'contoso-tasks'",
        "credential": "cli",
        "endpoint": url,
        **azure,
    }
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in settings.items() if v is not None)
    path = folder / "ga.toml"
    path.write_text(
        f'[connector]\nid = "contoso-tasks"\n\n[telemetry.azure]\n{lines}\n', encoding="utf-8"
    )
    return path


def cli(*args):
    result = CliRunner().invoke(app, [str(a) for a in args], env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def ingest_azure(store, config, *more, ok=True):
    result = cli("ingest", "--from", "azure", "--store", store, "-c", config, *more)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def metrics(store, config) -> dict:
    result = cli("check", "--store", store, "-c", config, "--json", "-")
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["metrics"]


def store_state(store: Path) -> tuple[int, int]:
    """(publishes, stored rows) of a store."""
    with Store.open(store) as opened:
        return opened.version(), opened.info()["rows"]


WINDOW = ("--since", "2026-11-01", "--until", "2026-11-04T00:00:00Z")


# ---- part 1: figures ------------------------------------------------------------------------


def test_figures_from_azure_equal_hand_count_and_the_same_rows_exported(logs, tmp_path):
    config = ga_toml(tmp_path, logs.url)
    store = tmp_path / "azure.duckdb"
    result = ingest_azure(store, config, *WINDOW)
    assert "stored 9 requests" in result.output  # ten rows, one filtered out by the where
    from_azure = metrics(store, config)
    assert from_azure["requests"] == 9
    assert from_azure["eligible"] == 8  # 9 - 1 throttled
    assert from_azure["faults"] == FAULTS
    assert from_azure["availability"] == pytest.approx(0.75)  # 1 - 2/8
    assert from_azure["success_rate"] == pytest.approx(0.5)  # 4/8

    # The same nine rows as a Log Analytics export, ingested as a file.
    export = tmp_path / "export.jsonl"
    export.write_text(
        "".join(json.dumps(r) + "\n" for r in ROWS if r["ApiId"] == "contoso-tasks"),
        encoding="utf-8",
    )
    file_store = tmp_path / "file.duckdb"
    assert cli("ingest", export, "--store", file_store, "-c", config).exit_code == 0
    from_file = metrics(file_store, config)
    for key in ("requests", "eligible", "faults", "success_rate", "availability", "slo"):
        assert from_azure[key] == from_file[key], key
    for key in ("connections", "connections_meeting_bar"):
        assert from_azure[key] == from_file[key], key

    # Three one-day slices asked, each once: [11-01, 11-02), [11-02, 11-03), [11-03, 11-04).
    assert len(logs.asked) == 3
    # No raw id reached the store's segments.
    with Store.open(store) as opened:
        blobs = b"".join(Path(f).read_bytes() for f in opened.segment_files())
    assert b"raw-user-1" not in blobs and b"sub-alpha" not in blobs


def test_plain_check_imports_no_azure_module(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, connector_ga.cli.store, connector_ga.store, connector_ga.config; "
        "print(sorted(m for m in sys.modules if m.startswith('azure')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


APP_COLUMNS = [
    ("TimeGenerated", "datetime"),
    ("Id", "string"),
    ("ResultCode", "string"),
    ("Name", "string"),
    ("UserId", "string"),
    ("DurationMs", "real"),
    ("ItemCount", "int"),
    ("Properties", "dynamic"),
]
RESOURCE = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Insights/components/ai"


def test_app_requests_of_a_resource_through_the_appinsights_adapter(logs, tmp_path):
    """AppRequests asked by resource id; ItemCount (sampling) is the weight."""

    def request(time, rid, code, count, connection):
        return {
            "TimeGenerated": time,
            "Id": rid,
            "ResultCode": code,
            "Name": "GET /tasks",
            "UserId": "raw-user-2",
            "DurationMs": 12.5,
            "ItemCount": count,
            "Properties": json.dumps({"connectionId": connection}),
        }

    rows = [
        request("2026-11-10T08:00:00Z", "w01", "200", 1, "k-1"),
        request("2026-11-10T09:00:00Z", "w02", "500", 2, "k-1"),  # connector (unattributed)
        request("2026-11-11T08:00:00Z", "w03", "200", 3, "k-2"),
    ]
    logs.add_rows("AppRequests", APP_COLUMNS, rows)
    config = ga_toml(
        tmp_path, logs.url, workspace=None, resource=RESOURCE, table="AppRequests", where=None
    )
    store = tmp_path / "azure.duckdb"
    ingest_azure(store, config, "--since", "2026-11-10", "--until", "2026-11-12")
    m = metrics(store, config)
    assert m["requests"] == 6  # weights 1 + 2 + 3
    assert m["faults"]["connector"] == 2  # w02, weight 2
    assert m["availability"] == pytest.approx(2 / 3)  # 1 - 2/6
    assert m["connections"] == 2  # k-1, k-2


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("table", "AppTraces", "telemetry.azure.table': expected one of ApiManagementGateway"),
        ("credential", "password", "telemetry.azure.credential': expected one of default"),
        ("cloud", "mars", "telemetry.azure.cloud': expected one of public, us-government"),
        ("workspace", "not-a-guid", "telemetry.azure.workspace': expected a Log Analytics"),
        ("endpoint", "http://127.0.0.1:1/v1", "telemetry.azure.endpoint': expected an https"),
        ("colour", "blue", "unknown key 'telemetry.azure.colour'"),
    ],
)
def test_bad_azure_section_is_one_line_exit_2(tmp_path, key, value, expected):
    config = ga_toml(tmp_path, "https://127.0.0.1:1/v1", **{key: value})
    store = tmp_path / "s.duckdb"
    result = ingest_azure(store, config, ok=False)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0] and str(config) in lines[0], result.output
    assert not store.exists()


def test_workspace_and_resource_together_is_refused(tmp_path):
    config = ga_toml(
        tmp_path,
        "https://127.0.0.1:1/v1",
        resource="/subscriptions/0/resourceGroups/rg/providers/Microsoft.Insights/components/x",
    )
    result = ingest_azure(tmp_path / "s.duckdb", config, ok=False)
    assert result.exit_code == 2
    assert "either a workspace id or a resource id" in result.output


# ---- part 2: complete or nothing ------------------------------------------------------------


def _spans(timespans: list[str]) -> list[tuple[dt.datetime, dt.datetime]]:
    parse = lambda t: dt.datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
    return sorted(tuple(parse(t) for t in span.split("/")) for span in timespans)


def test_a_cut_answer_is_split_until_every_slice_is_whole(logs, tmp_path):
    """The stand-in cuts at 2 rows; a day of 3 rows comes back partial and is asked again in
    halves. The slices answered whole tile [11-01, 11-04) exactly, and the figures are the
    hand count of the whole."""
    logs.row_limit = 2
    config = ga_toml(tmp_path, logs.url)
    store = tmp_path / "azure.duckdb"
    result = ingest_azure(store, config, *WINDOW)
    assert "stored 9 requests" in result.output
    whole = _spans(logs.answered)
    assert whole[0][0] == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert whole[-1][1] == dt.datetime(2026, 11, 4, tzinfo=dt.UTC)
    assert all(a[1] == b[0] for a, b in zip(whole, whole[1:], strict=False))  # no gap, no overlap
    # Every day holds 3 contoso rows, more than the cut: some answers came back partial.
    assert len(logs.asked) > len(logs.answered)
    m = metrics(store, config)
    assert m["requests"] == 9 and m["faults"] == FAULTS
    assert m["availability"] == pytest.approx(0.75)  # 1 - 2/8


def test_an_answer_as_long_as_the_row_limit_is_taken_as_cut_and_written_as_exported(logs, tmp_path):
    """The service says nothing, but 3 rows with a limit of 3 may be a cut: split anyway.
    What is written is the rows with the column names of a Log Analytics export."""
    from azure.identity import AzureCliCredential

    from connector_ga.config import load_config
    from connector_ga.sources.azure_monitor import fetch

    cfg = load_config(ga_toml(tmp_path, logs.url))
    out = tmp_path / "answer.jsonl"
    fetched = fetch(
        cfg.telemetry.azure,
        dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        out,
        credential=AzureCliCredential(),
        row_limit=3,
    )
    assert fetched.splits >= 1 and fetched.rows == 3  # c01, c02, c03 of 11-01
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["CorrelationId"] for r in written) == ["c01", "c02", "c03"]
    assert set(written[0]) == {name for name, _ in COLUMNS}
    assert {r["TimeGenerated"] for r in written} == {
        "2026-11-01T09:00:00Z",
        "2026-11-01T10:00:00Z",
        "2026-11-01T11:00:00Z",
    }


def test_after_a_cut_later_slices_keep_the_length_that_worked_and_grow_back(logs, tmp_path):
    """A limit of 8 rows (an answer of 8 counts as cut); 11-01 has a row every 2 h (12),
    11-02 and 11-03 one at noon. Slices asked, by hand:
    [11-01 00, 11-02 00) 12 rows: cut, length 12 h;  [11-01 00, 12) 6 and [12, 24) 6: whole,
    kept at 12 h (6 is not under 8 // 4 = 2);  [11-02 00, 12) 0: grow to 24 h;
    [11-02 12, 11-03 12) 1 (11-02 12:00): grow, capped at 24 h;  [11-03 12, 11-04 00) 1."""
    from azure.identity import AzureCliCredential

    from connector_ga.config import load_config
    from connector_ga.sources.azure_monitor import fetch

    day = [gateway(f"2026-11-01T{h:02d}:00:00Z", f"b{h:02d}", 200) for h in range(0, 24, 2)]
    sparse = [gateway(f"2026-11-0{d}T12:00:00Z", f"s{d}", 200) for d in (2, 3)]
    logs.add_rows("AppRequests", COLUMNS, day + sparse)
    cfg = load_config(ga_toml(tmp_path, logs.url, table="AppRequests", where=None))
    fetched = fetch(
        cfg.telemetry.azure,
        dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 4, tzinfo=dt.UTC),
        tmp_path / "answer.jsonl",
        credential=AzureCliCredential(),
        row_limit=8,
    )
    at = lambda d, h=0: dt.datetime(2026, 11, d, h, tzinfo=dt.UTC)  # noqa: E731
    assert [tuple(s) for s in _spans(logs.asked)] == sorted(
        [
            (at(1), at(2)),
            (at(1), at(1, 12)),
            (at(1, 12), at(2)),
            (at(2), at(2, 12)),
            (at(2, 12), at(3, 12)),
            (at(3, 12), at(4)),
        ]
    )
    assert (fetched.slices, fetched.splits, fetched.rows) == (6, 1, 14)  # 12 + 1 + 1 rows


def test_progress_hears_time_covered_and_rows(logs, tmp_path):
    from azure.identity import AzureCliCredential

    from connector_ga.azure_ingest import ingest_from_azure
    from connector_ga.config import load_config

    logs.row_limit = 2
    cfg = load_config(ga_toml(tmp_path, logs.url))
    heard = []
    ingest_from_azure(
        tmp_path / "s.duckdb",
        cfg.telemetry.azure,
        since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        until=dt.datetime(2026, 11, 4, tzinfo=dt.UTC),
        default_connector="contoso-tasks",
        credential=AzureCliCredential(),
        progress=lambda covered, total, rows: heard.append((covered, total, rows)),
    )
    covered, total, rows = heard[-1]
    assert covered == total == dt.timedelta(days=3)  # 11-01 to 11-04
    assert rows == 9  # every contoso row, each once
    assert [h[0] for h in heard] == sorted(h[0] for h in heard)


def test_throttling_and_server_faults_are_retried_after_retry_after(logs, tmp_path):
    """429, 503, 429 (Retry-After: 0), then the three day slices: six requests, the same
    figures."""
    logs.faults = [429, 503, 429]
    config = ga_toml(tmp_path, logs.url)
    store = tmp_path / "azure.duckdb"
    result = ingest_azure(store, config, *WINDOW)
    assert "3 retried" in result.output
    assert len(logs.asked) == 6  # 3 faults + 3 slices
    assert metrics(store, config)["requests"] == 9


def test_retry_waits_what_retry_after_says_within_the_cap(logs, tmp_path):
    from azure.identity import AzureCliCredential

    from connector_ga.azure_ingest import ingest_from_azure
    from connector_ga.config import load_config
    from connector_ga.sources.azure_monitor import Retry

    logs.faults, logs.retry_after = [429, 429], "7"
    slept: list[float] = []
    retry = Retry(attempts=3, backoff=1.0, max_wait=5.0, sleep=slept.append)
    cfg = load_config(ga_toml(tmp_path, logs.url))
    done = ingest_from_azure(
        tmp_path / "s.duckdb",
        cfg.telemetry.azure,
        since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        until=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        credential=AzureCliCredential(),
        retry=retry,
    )
    assert slept == [5.0, 5.0]  # Retry-After 7 s, capped at max_wait 5 s, twice
    assert done.retries == 2 and done.rows == 3  # c01, c02, c03
    # Without Retry-After: backoff 1 × 2^attempt, capped: attempts 0, 2, 3 → 1, 4, 5.
    assert [retry.wait(n, None) for n in (0, 2, 3)] == [1.0, 4.0, 5.0]


def test_a_slice_that_cannot_be_had_stops_with_one_line_and_the_store_unchanged(logs, tmp_path):
    config = ga_toml(tmp_path, logs.url)
    store = tmp_path / "azure.duckdb"
    ingest_azure(store, config, *WINDOW)
    before = store_state(store)
    assert before[1] == 9
    logs.faults = [503] * 6  # as many as the tries: the slice is never had
    result = ingest_azure(store, config, "--since", "2026-11-04", "--until", "2026-11-05", ok=False)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "not had after 6 tries (last: HTTP 503)" in lines[0]
    assert WORKSPACE in lines[0] and "2026-11-04T00:00:00Z/2026-11-05T00:00:00Z" in lines[0]
    assert store_state(store) == before  # same version, same rows
    assert not list(store.with_name(store.name + ".segments").glob(".staging-*"))


def test_an_answer_still_cut_in_one_second_gives_up_and_stores_nothing(logs, tmp_path):
    """Two rows in the same second, a cut at one row: no split can make it whole."""
    logs.row_limit = 1
    logs.add_rows(
        "ApiManagementGatewayLogs",
        COLUMNS,
        [gateway("2026-11-05T09:00:00Z", "d01", 200), gateway("2026-11-05T09:00:00Z", "d02", 200)],
    )
    config = ga_toml(tmp_path, logs.url)
    store = tmp_path / "azure.duckdb"
    result = ingest_azure(store, config, "--since", "2026-11-05", "--until", "2026-11-06", ok=False)
    assert result.exit_code == 2
    assert "still cut by the Logs API in 1 s of time" in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1
    assert not store.exists()  # a first ingest that fails leaves no store behind


def test_a_refused_token_is_one_line(logs, tmp_path, monkeypatch):
    import logs_standin

    monkeypatch.setattr(logs_standin, "TOKEN", "another-token")  # the stand-in expects this
    config = ga_toml(tmp_path, logs.url)
    result = ingest_azure(tmp_path / "s.duckdb", config, *WINDOW, ok=False)
    assert result.exit_code == 2
    assert "the Logs API answered 401" in result.output
    assert "stand-in-token" not in result.output  # the token itself is never shown


# ---- part 3: incremental --------------------------------------------------------------------


def test_a_second_ingest_resumes_less_the_overlap_and_counts_each_request_once(logs, tmp_path):
    config = ga_toml(tmp_path, logs.url)
    store = tmp_path / "azure.duckdb"
    first = ingest_azure(store, config, "--since", "2026-11-01", "--until", "2026-11-03T10:30:00Z")
    assert "stored 8 requests" in first.output  # c01..c08 (c08 at 10:00 < 10:30)
    # Meanwhile the service ingests a late row (10:15, before the first ingest's end) and a
    # new one (13:00).
    logs.add_rows(
        "ApiManagementGatewayLogs",
        COLUMNS,
        [
            gateway("2026-11-03T10:15:00Z", "c11", 200, 200),
            gateway("2026-11-03T13:00:00Z", "c12", 200, 200),
        ],
    )
    asked_before = len(logs.asked)
    second = ingest_azure(store, config, "--until", "2026-11-04T00:00:00Z")
    # Resumed at 10:30 - 1 h overlap = 09:30: one slice [09:30, 11-04 00:00).
    assert _spans(logs.asked[asked_before:]) == [
        (dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.UTC), dt.datetime(2026, 11, 4, tzinfo=dt.UTC))
    ]
    # In it: c08 (already stored), c11, c09, c12 (c10 filtered out): 3 stored, 1 known.
    assert "stored 3 requests" in second.output
    assert "1 already stored (request_id)" in second.output
    info = json.loads(cli("store", "info", "--store", store, "--json").stdout)
    assert info["sources"] == [
        {
            "source": f"azure:workspace={WORKSPACE};table=ApiManagementGatewayLogs;"
            "where=ApiId == 'contoso-tasks'",
            "covered_until": "2026-11-04T00:00:00Z",
        }
    ]
    m = metrics(store, config)
    assert m["requests"] == 11  # 8 + 3, c08 once
    assert m["eligible"] == 10  # 11 - 1 throttled
    assert m["availability"] == pytest.approx(0.8)  # 1 - 2/10


def test_a_backfill_does_not_move_the_resume_point_back(logs, tmp_path):
    config = ga_toml(tmp_path, logs.url)
    store = tmp_path / "azure.duckdb"
    ingest_azure(store, config, *WINDOW)  # resume point 11-04 00:00
    ingest_azure(store, config, "--since", "2026-10-01", "--until", "2026-10-02")
    asked_before = len(logs.asked)
    ingest_azure(store, config, "--until", "2026-11-05T00:00:00Z")
    # From 11-04 00:00 - 1 h = 11-03 23:00, not from 10-02: one slice, to 11-05.
    assert _spans(logs.asked[asked_before:])[0][0] == dt.datetime(2026, 11, 3, 23, tzinfo=dt.UTC)
    assert metrics(store, config)["requests"] == 9  # no new row, none twice


def test_the_first_ingest_asks_for_the_criteria_window(tmp_path):
    from connector_ga.azure_ingest import window
    from connector_ga.config import AzureSection
    from connector_ga.policy import load_policy

    azure = AzureSection(workspace=WORKSPACE, table="AppRequests")
    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    start, end, resumed = window(tmp_path / "none.duckdb", azure, None, None, load_policy(), now)
    # 8 trend weeks (56 days) + the MAC lookback (30 - 1 = 29) + back to a Monday (6) = 91
    # days: 12-03 → 11-03 (30) → 10-03 (61) → 09-03 (91).
    assert (start, end, resumed) == (dt.datetime(2026, 9, 3, 12, tzinfo=dt.UTC), now, False)


def test_bad_since_is_one_line(tmp_path):
    config = ga_toml(tmp_path, "https://127.0.0.1:1/v1")
    result = ingest_azure(tmp_path / "s.duckdb", config, "--since", "yesterday", ok=False)
    assert result.exit_code == 2
    assert "--since 'yesterday': expected a date such as 2026-09-01" in result.output
    result = ingest_azure(
        tmp_path / "s.duckdb", config, "--since", "2026-11-02", "--until", "2026-11-01", ok=False
    )
    assert result.exit_code == 2 and "is not before --until" in result.output
    result = ingest_azure(tmp_path / "s.duckdb", config, "--until", "0001-01-02", ok=False)
    assert result.exit_code == 2 and "--until 0001-01-02: expected a time between" in result.output


# ---- check --from azure ---------------------------------------------------------------------


def test_check_from_azure_asks_only_the_criteria_window_and_stores_nothing(logs, tmp_path):
    config = ga_toml(tmp_path, logs.url)
    result = cli("check", "--from", "azure", "-c", config, "--as-of", "2026-11-03", "--json", "-")
    assert result.exit_code in (0, 1), result.output
    m = json.loads(result.stdout)["metrics"]
    assert m["requests"] == 9 and m["faults"] == FAULTS
    assert m["availability"] == pytest.approx(0.75)  # 1 - 2/8
    spans = _spans(logs.asked)
    # Ending with the evaluation day (11-04 00:00), 91 days back: 11-04 → 10-04 (31 days)
    # → 09-04 (30) → 08-05 (30), one day a slice.
    assert spans[0][0] == dt.datetime(2026, 8, 5, tzinfo=dt.UTC)
    assert spans[-1][1] == dt.datetime(2026, 11, 4, tzinfo=dt.UTC)
    assert len(spans) == 91
    assert not (tmp_path / ".connector-ga").exists()  # nothing stored, nothing written here


def test_check_from_azure_with_no_rows_is_one_line(logs, tmp_path):
    config = ga_toml(tmp_path, logs.url, where="ApiId == 'nobody'")
    result = cli("check", "--from", "azure", "-c", config, "--as-of", "2026-11-03")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "no rows from 2026-08-05T00:00:00Z" in lines[0], result.output


def test_a_credential_that_gets_no_token_is_one_line(logs, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no az anywhere: no token
    config = ga_toml(tmp_path, logs.url)
    result = ingest_azure(tmp_path / "s.duckdb", config, *WINDOW, ok=False)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "credential 'cli' got no token" in lines[0], result.output
    assert logs.asked == []  # nothing was asked without a token
    assert not (tmp_path / "s.duckdb").exists()


def test_a_table_the_workspace_does_not_have_is_one_line(logs, tmp_path):
    config = ga_toml(tmp_path, logs.url, table="requests", where=None)
    store = tmp_path / "s.duckdb"
    result = ingest_azure(store, config, *WINDOW, ok=False)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "table requests" in lines[0] and "answered 400" in lines[0]
    assert "Failed to resolve table 'requests'" in lines[0]
    assert not store.exists()


# ---- part 5: faults name the workspace or endpoint, one line, the store unchanged ----------


def test_an_unknown_workspace_is_one_line_naming_it(logs, tmp_path):
    logs.workspaces = {"7a0c9b1e-0000-4000-8000-00000000ffff"}  # not ours
    config = ga_toml(tmp_path, logs.url)
    store = tmp_path / "s.duckdb"
    result = ingest_azure(store, config, *WINDOW, ok=False)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert WORKSPACE in lines[0] and "answered 404: (WorkspaceNotFoundError)" in lines[0]
    assert "no such workspace or resource" in lines[0]
    assert not store.exists()


def test_an_identity_without_read_access_is_one_line(logs, tmp_path):
    config = ga_toml(tmp_path, logs.url)
    store = tmp_path / "s.duckdb"
    ingest_azure(store, config, *WINDOW)  # a store with rows: a refusal must leave them
    before = store_state(store)
    logs.forbidden = True
    result = ingest_azure(store, config, "--since", "2026-11-04", "--until", "2026-11-05", ok=False)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "answered 403: (InsufficientAccessError)" in lines[0]
    assert "Log Analytics Reader" in lines[0]
    assert WORKSPACE in lines[0]
    assert store_state(store) == before
    assert "stand-in-token" not in result.output


def test_an_unreachable_endpoint_is_one_line_naming_it(logs, tmp_path):
    import socket

    from connector_ga.azure_ingest import ingest_from_azure
    from connector_ga.config import load_config
    from connector_ga.errors import InputError
    from connector_ga.sources.azure_monitor import Retry

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"https://127.0.0.1:{probe.getsockname()[1]}"
    config = load_config(ga_toml(tmp_path, closed))
    slept: list[float] = []
    store = tmp_path / "s.duckdb"
    with pytest.raises(InputError) as caught:
        ingest_from_azure(
            store,
            config.telemetry.azure,
            since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            until=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
            retry=Retry(attempts=3, sleep=slept.append),
        )
    line = str(caught.value)
    assert "\n" not in line
    assert f"not had after 3 tries (last: cannot reach {closed}" in line
    assert WORKSPACE in line
    assert slept == [1.0, 2.0]  # backoff 1 × 2^attempt between the three tries
    assert not store.exists()
