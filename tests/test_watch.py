"""`connector-ga watch`: burn-rate alerts on the availability error budget, episodes kept
in the store, notified by webhook (a real HTTP server on 127.0.0.1) and by email.

Traffic is synthetic and exact: one row per 5-minute bucket counted back from AT (rows at
AT − k·5 min, k = 0 … 863, i.e. three days), with `weight` standing for many requests.
The budget's share is 1 − 0.9995 = 1/2000, so a window burns at
(connector faults ÷ eligible) × 2000.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import threading
from email import policy as email_policy
from email.parser import BytesParser
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import write_csv
from test_request import PASSWORD, SMTP_ENV_NAMES, smtp_env, smtp_server  # noqa: F401
from typer.testing import CliRunner

from connector_ga.api import run_watch
from connector_ga.cli import app
from connector_ga.store import load_watch_state
from connector_ga.trajectory.notify import Webhook

AT = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
BUCKETS = 864  # 3 days of 5 minutes
CONNECTOR = "contoso-tasks"
UTC = dt.UTC


def traffic(faults_in_bucket, eligible: int = 1000, connector: str = CONNECTOR) -> list[dict]:
    """One bucket = `eligible` requests at AT − k·5 min, of which `faults_in_bucket(k)` are
    connector faults (status 500) and the rest succeed."""
    rows = []
    for k in range(BUCKETS):
        time = (AT - dt.timedelta(minutes=5 * k)).isoformat().replace("+00:00", "Z")
        faults = faults_in_bucket(k)
        base = {"time": time, "connector": connector, "connection_id": "conn-1"}
        if faults < eligible:
            rows.append({**base, "status": 200, "weight": eligible - faults})
        if faults:
            rows.append({**base, "status": 500, "fault": "connector", "weight": faults})
    return rows


def last_hour_at_one_percent(k: int) -> int:
    return 10 if k < 12 else 0  # 10 of 1000 in each of the 12 buckets of the last hour


def last_six_hours_at_one_percent(k: int) -> int:
    return 10 if k < 72 else 0


def clean(k: int) -> int:
    return 0


def opened(rows: list[dict]) -> list[dict]:
    """`rows` and one throttled request (429: no eligible or fault count moves) on
    AT − 29 days = 2026-10-22, the first day of the 30-day window [10-22, 11-20]: the window
    is observed whole (DESIGN: a pass needs min_observed_days = 30 observed days)."""
    base = {"time": "2026-10-22T12:00:00Z", "connector": CONNECTOR, "connection_id": "conn-1"}
    return [{**base, "status": 429, "weight": 1}, *rows]


def write(folder, rows, name="t.csv"):
    return str(write_csv(folder / name, rows))


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def watch_json(*args: str, env: dict | None = None) -> tuple[int, object, str]:
    out = invoke("watch", *args, "--json", "-", env=env)
    stdout = out.stdout
    return out.exit_code, json.loads(stdout) if stdout.strip() else None, out.output


def alerts_by_name(payload: dict) -> dict[str, dict]:
    return {f"{a['severity']} {a['long']}/{a['short']}": a for a in payload["alerts"]}


def firing(payload: dict) -> set[str]:
    return {name for name, a in alerts_by_name(payload).items() if a["firing"]}


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A working folder (the default store lands in it), no SMTP settings, no proxy."""
    monkeypatch.chdir(tmp_path)
    for name in SMTP_ENV_NAMES + ("TO",):
        monkeypatch.delenv(f"CONNECTOR_GA_SMTP_{name}", raising=False)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


# ---- which alerts fire ------------------------------------------------------------------


def test_one_percent_over_the_last_hour_fires_only_the_fast_page(here):
    telemetry = write(here, traffic(last_hour_at_one_percent))
    code, payload, output = watch_json("-t", telemetry)
    assert code == 1, output  # an alert fires
    assert payload["schema"] == "connector-ga/watch/v1"
    assert payload["connector"] == CONNECTOR
    assert payload["at"] == "2026-11-20T12:00:00Z"  # the latest request
    a = alerts_by_name(payload)
    assert list(a) == ["page 1h/5m", "page 6h/30m", "ticket 1d/2h", "ticket 3d/6h"]
    # 1 h = buckets 0-11: 120 faults / 12,000 = 1% → 0.01 × 2000 = 20 ≥ 14.4;
    # 5 m = bucket 0: 10 / 1,000 → 20 ≥ 14.4. Fires. (Were the request at exactly AT − 1 h
    # counted, 1 h would be 120 / 13,000 → 18.46: the window is (AT − 1 h, AT].)
    assert a["page 1h/5m"]["burn_long"] == 20.0 and a["page 1h/5m"]["burn_short"] == 20.0
    # 6 h = 72 buckets: 120 / 72,000 → 3.33 < 6 (30 m: 60 / 6,000 → 20, but the long fails).
    assert a["page 6h/30m"]["burn_long"] == pytest.approx(10 / 3, rel=1e-12)
    assert a["page 6h/30m"]["burn_short"] == 20.0
    # 1 d = 288 buckets: 120 / 288,000 → 0.833 < 3 (2 h: 120 / 24,000 → 10).
    assert a["ticket 1d/2h"]["burn_long"] == pytest.approx(5 / 6, rel=1e-12)
    assert a["ticket 1d/2h"]["burn_short"] == 10.0
    # 3 d = 864 buckets: 120 / 864,000 → 0.278 < 1 (6 h: 3.33 ≥ 1, but the long fails).
    assert a["ticket 3d/6h"]["burn_long"] == pytest.approx(5 / 18, rel=1e-12)
    assert a["ticket 3d/6h"]["burn_short"] == pytest.approx(10 / 3, rel=1e-12)
    assert firing(payload) == {"page 1h/5m"}
    # The first watch ever: the firing alert is a change (an episode starts), criteria not.
    assert payload["changes"] == [{"alert": "page 1h/5m", "from": "ok", "to": "firing"}]
    assert "FIRING" in output and "page 1h/5m" in output


def test_a_steady_half_per_mille_fires_only_the_three_day_ticket(here):
    # 1 fault in every 2,000 requests: every window burns 1/2000 × 2000 = exactly 1.0.
    telemetry = write(here, traffic(lambda k: 1, eligible=2000))
    code, payload, output = watch_json("-t", telemetry)
    assert code == 1, output
    for alert in payload["alerts"]:
        assert alert["burn_long"] == 1.0 and alert["burn_short"] == 1.0
    # 1.0 ≥ 1 on 3 d and 6 h fires the 3 d ticket; 1.0 < 3, < 6, < 14.4 fire nothing else.
    assert firing(payload) == {"ticket 3d/6h"}
    # Budget: 864 × 2,000 = 1,728,000 eligible → 864 allowed; 864 consumed → nothing left:
    # already exhausted, so both exhaustion times are AT itself.
    budget = payload["budget"]
    assert budget["allowed"] == pytest.approx(864) and budget["consumed"] == 864
    assert budget["remaining"] == pytest.approx(0, abs=1e-6)
    assert budget["exhausted_at_1h"] == budget["exhausted_at_1d"] == "2026-11-20T12:00:00Z"


def test_a_six_hour_outage_at_one_percent_fires_all_four(here):
    telemetry = write(here, traffic(last_six_hours_at_one_percent))
    code, payload, _ = watch_json("-t", telemetry)
    assert code == 1
    a = alerts_by_name(payload)
    # 720 faults in the last 72 buckets: 1 h, 5 m, 6 h, 30 m, 2 h burn 20;
    # 1 d: 720 / 288,000 → 5 ≥ 3; 3 d: 720 / 864,000 → 1.67 ≥ 1.
    assert a["ticket 1d/2h"]["burn_long"] == 5.0
    assert a["ticket 3d/6h"]["burn_long"] == pytest.approx(5 / 3, rel=1e-12)
    assert firing(payload) == set(a)


def test_a_window_without_eligible_requests_burns_zero(here):
    # Only throttled requests (429) in the last hour: not eligible, so 1 h and 5 m burn 0.
    rows = traffic(clean)
    for row in rows[:12]:
        row.update(status=429, fault=None)
    telemetry = write(here, rows)
    code, payload, _ = watch_json("-t", telemetry)
    assert code == 0
    a = alerts_by_name(payload)
    assert a["page 1h/5m"]["burn_long"] == 0.0 and a["page 1h/5m"]["burn_short"] == 0.0
    assert payload["changes"] == []


def test_small_burns_are_not_rounded(here):
    # One fault in three days: 1 / 864,000 × 2000 = 0.0023148… over 3 d, never 0.0.
    telemetry = write(here, traffic(lambda k: 1 if k == 500 else 0))
    _, payload, output = watch_json("-t", telemetry)
    burn = alerts_by_name(payload)["ticket 3d/6h"]["burn_long"]
    assert burn == pytest.approx(2000 / 864000, rel=1e-12)
    assert "0.00231" in output  # three significant digits in the terminal, not 0.0


def test_large_burns_are_plain_numbers_in_the_terminal_and_the_webhook(here):
    """Issue 16 item 16: a burn of 2000 read `2e+03`."""
    # Every request of the last hour (buckets 0-11) a connector fault: 1 h and 5 m burn
    # 12,000 / 12,000 × 2000 = 2,000; 30 m (6 buckets) 2,000; 2 h (24 buckets, 12 faulty)
    # 12/24 × 2000 = 1,000; 6 h 12/72 × 2000 = 333.3…; 1 d 12/288 × 2000 = 83.33…;
    # 3 d 12/864 × 2000 = 27.77….
    telemetry = write(here, traffic(lambda k: 1000 if k < 12 else 0))
    out = invoke("watch", "-t", telemetry)
    assert out.exit_code == 1, out.output
    rows = {" ".join(line.split()[:2]): line.split()[2:6] for line in out.output.splitlines()}
    assert rows["page 1h/5m"] == ["2,000", "(1h)", "2,000", "(5m)"], out.output
    assert rows["page 6h/30m"] == ["333", "(6h)", "2,000", "(30m)"]
    assert rows["ticket 1d/2h"] == ["83.3", "(1d)", "1,000", "(2h)"]
    assert rows["ticket 3d/6h"] == ["27.8", "(3d)", "333", "(6h)"]
    # 12,000 faults against 432 allowed: the budget is spent, and its line says the burns.
    assert "burning now at 2,000 (1 h) and 83.3 (1 d)" in " ".join(out.output.split())
    assert "e+" not in out.output
    with webhook_server() as (base, received):
        notified = invoke("watch", "-t", telemetry, "--notify", f"webhook={base}/hook")
        assert notified.exit_code == 1, notified.output
    text = received[0][2]["text"]
    assert "page 1h/5m alert FIRING (burn 2,000 over 1h, 2,000 over 5m; factor 14.4)" in text
    assert "page 6h/30m alert FIRING (burn 333 over 6h, 2,000 over 30m; factor 6)" in text
    assert "ticket 1d/2h alert FIRING (burn 83.3 over 1d, 1,000 over 2h; factor 3)" in text
    assert "ticket 3d/6h alert FIRING (burn 27.8 over 3d, 333 over 6h; factor 1)" in text
    assert "e+" not in text


# ---- --at ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given", ["2026-11-20T12:00:00Z", "2026-11-20T13:00:00+01:00", "2026-11-20T12:00:00"]
)
def test_at_converts_offsets_to_utc_and_reads_naive_times_as_utc(here, given):
    telemetry = write(here, traffic(last_hour_at_one_percent))
    code, payload, _ = watch_json("-t", telemetry, "--at", given)
    assert code == 1
    assert payload["at"] == "2026-11-20T12:00:00Z"
    assert firing(payload) == {"page 1h/5m"}


def test_at_an_hour_earlier_leaves_the_faults_out(here):
    # At 11:00 the faulty hour (11:05-12:00) is after `at`: every window is clean.
    telemetry = write(here, traffic(last_hour_at_one_percent))
    code, payload, _ = watch_json("-t", telemetry, "--at", "2026-11-20T11:00:00Z")
    assert code == 0
    assert all(a["burn_long"] == 0.0 and a["burn_short"] == 0.0 for a in payload["alerts"])


def test_at_an_hour_earlier_ends_the_budget_at_at_too(here):
    # Issue 16 item 4: the budget window ends at `at`, like the burn windows. The telemetry
    # is 864 buckets of 1,000 requests at 12:00 − k·5 min (k = 0..863); by 11:00 the
    # 12 buckets 11:05..12:00 have not happened: 864 − 12 = 852 buckets → 852,000
    # eligible, allowed = 0.0005 × 852,000 = 426, and the 12 × 10 = 120 faults all fall
    # after 11:00 → consumed 0, remaining 426 (the whole day would say 432, 120, 312).
    telemetry = write(here, traffic(last_hour_at_one_percent))
    _, payload, _ = watch_json("-t", telemetry, "--at", "2026-11-20T11:00:00Z")
    budget = payload["budget"]
    assert budget["allowed"] == pytest.approx(426)
    assert budget["consumed"] == 0
    assert budget["remaining"] == pytest.approx(426)
    _, whole, _ = watch_json("-t", telemetry, "--at", "2026-11-20T12:00:00Z")
    assert whole["budget"]["allowed"] == pytest.approx(432)
    assert whole["budget"]["consumed"] == 120


def one_bucket_of_500_a_day_before(k: int) -> int:
    return 500 if k == 300 else 0  # k = 300: AT − 25 h = 2026-11-19 11:00


def test_a_spent_budget_says_spent_by_how_much_and_since_when(here):
    # Issue 18 item 5: 864 buckets × 1,000 = 864,000 eligible, allowed 0.0005 × 864,000 =
    # 432; 500 connector faults at 2026-11-19 11:00 → consumed 500 ≥ 432 by the end of
    # 11-19: spent since 2026-11-19, 500 − 432 = 68 over, 68 / 432 = 15.7% → "16% over".
    # It used to say "runs out at the 1 h burn (0): 2026-11-20 12:00 UTC", "-68.0 remaining".
    telemetry = write(here, traffic(one_bucket_of_500_a_day_before))
    out = invoke("watch", "-t", telemetry, env={"COLUMNS": "200"})
    text = " ".join(out.output.split())
    assert (
        "spent since 2026-11-19: 500 connector faults against 432.0 allowed, 68.0 over the "
        "budget (16% over)"
    ) in text, text
    assert "runs out" not in text and "-68.0 remaining" not in text
    # The last hour and the last day hold no fault: both burns are 0.
    assert "burning now at 0 (1 h) and 0 (1 d)" in text
    _, payload, _ = watch_json("-t", telemetry)
    assert payload["budget"]["spent_since"] == "2026-11-19"
    assert payload["budget"]["remaining"] == pytest.approx(-68)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "yesterday"], "--at 'yesterday': expected an ISO time"),
        (["--at", "2026-13-01T00:00"], "--at '2026-13-01T00:00'"),
        (["--notify", "pager"], "--notify pager: expected smtp or webhook=https://"),
        (["--notify", "webhook=ftp://example.com/x"], "expected an http:// or https:// URL"),
        (["--notify", "smtp"], "--notify smtp needs CONNECTOR_GA_SMTP_HOST"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(here, args, message):
    telemetry = write(here, traffic(clean))
    out = invoke("watch", "-t", telemetry, *args)
    assert out.exit_code == 2, out.output
    assert message in out.output
    assert len(out.output.strip().splitlines()) == 1
    assert "Traceback" not in out.output
    assert not (here / ".connector-ga").exists()  # nothing read, nothing written


def test_a_bad_notify_url_never_shows_its_secret(here):
    telemetry = write(here, traffic(clean))
    out = invoke("watch", "-t", telemetry, "--notify", "hook=https://h.example/p?token=SECRET")
    assert out.exit_code == 2
    assert "SECRET" not in out.output


def test_an_unknown_key_in_the_burn_rate_table_is_an_error(here):
    from importlib import resources

    text = resources.files("connector_ga.policies").joinpath("power-platform-ga.toml")
    strict = here / "strict.toml"
    strict.write_text(
        text.read_text("utf-8").replace("factor = 14.4", "factor = 14.4\nwindow = 2"), "utf-8"
    )
    telemetry = write(here, traffic(clean))
    out = invoke("watch", "-t", telemetry, "--policy", str(strict))
    assert out.exit_code == 2
    assert "unknown key 'burn_rate.alerts.0.window'" in out.output


# ---- the budget -------------------------------------------------------------------------


def test_budget_equals_the_check_and_runs_out_when_worked_by_hand(here):
    # The last hour: 3 faults per 1,000 (burn 6); the rest of the last day: 1 per 1,000
    # (burn 2); the two days before: clean.
    telemetry = write(here, traffic(lambda k: 3 if k < 12 else 1 if k < 288 else 0))
    code, payload, output = watch_json("-t", telemetry)
    # 6 < 14.4; 6 h: 36 + 60 = 96 / 72,000 → 2.67 < 6; 1 d: 36 + 276 = 312 / 288,000
    # → 2.17 < 3; 3 d: 312 / 864,000 → 0.72 < 1: nothing fires.
    assert code == 0, output
    assert firing(payload) == set()
    budget = payload["budget"]
    # 864,000 eligible × 1/2000 = 432 allowed; 312 consumed; 120 remaining.
    assert budget["allowed"] == pytest.approx(432) and budget["consumed"] == 312
    assert budget["remaining"] == pytest.approx(120)
    check = invoke("check", "-t", telemetry, "--json", "-")
    assert budget == {
        **json.loads(check.stdout)["metrics"]["error_budget"],
        "exhausted_at_1h": budget["exhausted_at_1h"],
        "exhausted_at_1d": budget["exhausted_at_1d"],
        "spent_since": None,  # 120 remaining: not spent
    }
    # At the 1 h burn 6: net (6 − 1) × 1/2000 × 12,000 per hour = 30 per hour;
    # 120 / 30 = 4 h → 16:00.
    assert _time(budget["exhausted_at_1h"]) == pytest.approx(
        dt.datetime(2026, 11, 20, 16, 0, tzinfo=UTC).timestamp(), abs=1e-3
    )
    # At the 1 d burn 312/144 = 2.1667: eligible per hour 288,000 / 24 = 12,000;
    # net (312/144 − 1) × 6 = 7 per hour; 120 / 7 h = 17 h 8 min 34.2857 s → 05:08:34.2857.
    assert _time(budget["exhausted_at_1d"]) == pytest.approx(
        dt.datetime(2026, 11, 21, 5, 8, 34, 285714, tzinfo=UTC).timestamp(), abs=1e-3
    )
    assert "2026-11-20 16:00 UTC" in output and "2026-11-21 05:08 UTC" in output


def test_the_budget_never_runs_out_at_a_burn_of_one_or_less(here):
    # 1% over the last hour: 1 d burns 0.833 ≤ 1 → never; 1 h burns 20: net (20 − 1) ×
    # 1/2000 × 12,000 = 114 per hour; 432 − 120 = 312 left → 312 / 114 = 2.7368 h
    # = 2 h 44 min 12.6316 s → 14:44:12.6316.
    telemetry = write(here, traffic(last_hour_at_one_percent))
    _, payload, _ = watch_json("-t", telemetry)
    assert payload["budget"]["exhausted_at_1d"] is None
    assert _time(payload["budget"]["exhausted_at_1h"]) == pytest.approx(
        dt.datetime(2026, 11, 20, 14, 44, 12, 631579, tzinfo=UTC).timestamp(), abs=1e-3
    )


def _time(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


# ---- episodes and webhooks --------------------------------------------------------------


@contextlib.contextmanager
def webhook_server(status: int = 200, delay: float = 0.0):
    """An HTTP server on 127.0.0.1 that records each POST (path, content type, JSON)."""
    received: list[tuple[str, str, dict]] = []
    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's spelling
            length = int(self.headers["Content-Length"])
            body = json.loads(self.rfile.read(length))
            received.append((self.path, self.headers["Content-Type"], body))
            if delay:
                release.wait(delay)  # bounded: a slow server, not a stuck test
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_episode_is_notified_once_and_again_when_it_resolves(here):
    telemetry = write(here, opened(traffic(last_hour_at_one_percent)))
    with webhook_server() as (base, received):
        hook = f"webhook={base}/hooks/watch?token=SECRET"
        first = invoke("watch", "-t", telemetry, "--notify", hook)
        assert first.exit_code == 1, first.output
        assert len(received) == 1
        path, content_type, body = received[0]
        assert path == "/hooks/watch?token=SECRET"
        assert content_type.startswith("application/json")
        assert body["text"].startswith("connector-ga watch: contoso-tasks at 2026-11-20 12:00 UTC")
        assert "page 1h/5m alert FIRING (burn 20 over 1h, 20 over 5m; factor 14.4)" in body["text"]
        assert "312.0 of 432.0 failed requests left" in body["text"]
        assert body["schema"] == "connector-ga/watch/v1"
        assert body["changes"] == [{"alert": "page 1h/5m", "from": "ok", "to": "firing"}]
        assert firing(body) == {"page 1h/5m"}
        assert "SECRET" not in first.output
        assert "notified contoso-tasks: webhook" not in first.output  # shown as a URL:
        assert f"notified contoso-tasks: {base}/…" in first.output

        # Still firing: the same episode, nothing sent.
        again = invoke("watch", "-t", telemetry, "--notify", hook)
        assert again.exit_code == 1
        assert len(received) == 1
        assert "nothing to notify" in again.output
        assert "no change since the previous watch" in again.output

        # An hour later the last hour is clean: the episode resolves, told once.
        later = ["--at", "2026-11-20T13:00:00Z"]
        resolved = invoke("watch", "-t", telemetry, *later, "--notify", hook)
        assert resolved.exit_code == 0, resolved.output
        assert len(received) == 2
        body = received[1][2]
        assert body["changes"] == [{"alert": "page 1h/5m", "from": "firing", "to": "ok"}]
        assert "page 1h/5m alert resolved" in body["text"]
        assert firing(body) == set()
        quiet = invoke("watch", "-t", telemetry, *later, "--notify", hook)
        assert quiet.exit_code == 0
        assert len(received) == 2

    # The state went to the default store, created for it.
    rows = load_watch_state(here / ".connector-ga" / "store.duckdb", [CONNECTOR])
    alert = rows[(CONNECTOR, "alert", "page 1h/5m")]
    assert alert.state == "ok"
    assert alert.since == dt.datetime(2026, 11, 20, 13, 0, tzinfo=UTC)  # resolved then
    assert rows[(CONNECTOR, "criterion", "availability")].state == "pass"


def test_criteria_changes_are_notified_but_not_on_the_first_watch(here):
    with webhook_server() as (base, received):
        hook = f"webhook={base}/hook"
        quiet = invoke("watch", "-t", write(here, opened(traffic(clean))), "--notify", hook)
        assert quiet.exit_code == 0, quiet.output
        assert received == []  # first watch: criteria recorded, nothing changed, no alert
        # A 6-hour outage at 1%: availability 1 − 720 / 864,000 = 99.917% < 99.95% fails,
        # and so does SLO (the one connection is under the bar); all four alerts fire.
        outage = write(here, opened(traffic(last_six_hours_at_one_percent)), "outage.csv")
        loud = invoke("watch", "-t", outage, "--notify", hook)
        assert loud.exit_code == 1
        assert len(received) == 1
        changes = received[0][2]["changes"]
        assert changes[:2] == [
            {"criterion": "availability", "from": "pass", "to": "fail"},
            {"criterion": "slo", "from": "pass", "to": "fail"},
        ]
        assert [c["alert"] for c in changes[2:]] == [
            "page 1h/5m",
            "page 6h/30m",
            "ticket 1d/2h",
            "ticket 3d/6h",
        ]
        assert "availability pass → fail" in received[0][2]["text"]


def test_a_watch_without_notify_records_nothing(here):
    telemetry = write(here, traffic(last_hour_at_one_percent))
    assert invoke("watch", "-t", telemetry).exit_code == 1
    assert not (here / ".connector-ga").exists()
    with webhook_server() as (base, received):
        out = invoke("watch", "-t", telemetry, "--notify", f"webhook={base}/hook")
        assert out.exit_code == 1
        assert len(received) == 1  # the episode is still told: the look recorded nothing


@pytest.mark.parametrize("failure", ["http-500", "closed-port"])
def test_a_failing_webhook_is_one_line_exit_2_and_retried_next_time(here, failure):
    telemetry = write(here, traffic(last_hour_at_one_percent))
    with contextlib.ExitStack() as stack:
        if failure == "http-500":
            base, received = stack.enter_context(webhook_server(status=500))
            why = "HTTP 500 Internal Server Error"
        else:
            base, received = f"http://127.0.0.1:{free_port()}", []
            why = "connection refused"
        out = invoke("watch", "-t", telemetry, "--notify", f"webhook={base}/hook?key=SECRET")
    assert out.exit_code == 2, out.output
    error_lines = [line for line in out.output.splitlines() if line.startswith("error:")]
    assert error_lines == [
        f"error: webhook {base}/… failed: {why}; nothing recorded: the next watch notifies again"
    ]
    # Slack and Teams keep the webhook's secret in its path: neither it nor the query shows.
    assert "SECRET" not in out.output and "/hook" not in out.output
    assert "Traceback" not in out.output
    assert len(received) == (1 if failure == "http-500" else 0)
    assert load_watch_state(here / ".connector-ga" / "store.duckdb", [CONNECTOR]) == {}
    with webhook_server() as (base, received):
        retry = invoke("watch", "-t", telemetry, "--notify", f"webhook={base}/hook")
        assert retry.exit_code == 1
        assert [r[2]["changes"] for r in received] == [
            [{"alert": "page 1h/5m", "from": "ok", "to": "firing"}]
        ]


def test_a_webhook_that_does_not_answer_in_time_fails(here):
    telemetry = write(here, traffic(last_hour_at_one_percent))
    watch = run_watch(telemetry=[telemetry]).watches[0]
    watch.changes = []
    from connector_ga.errors import InputError
    from connector_ga.trajectory.watch import record_changes

    record_changes([watch], {})
    with webhook_server(delay=3.0) as (base, received):
        with pytest.raises(InputError) as failed:
            Webhook(f"{base}/slow?sig=SECRET", timeout=0.5).notify(watch)
    assert str(failed.value) == (
        f"webhook {base}/… failed: no answer within 0.5 s; nothing recorded: the next "
        "watch notifies again"
    )


# ---- email ------------------------------------------------------------------------------


def test_smtp_notifies_the_episode_by_email_over_starttls(here, smtp_server):  # noqa: F811
    controller, inbox, cert = smtp_server
    env = {**smtp_env(controller, cert), "CONNECTOR_GA_SMTP_TO": "oncall@contoso.com"}
    telemetry = write(here, traffic(last_hour_at_one_percent))
    before = len(inbox.messages)
    out = invoke("watch", "-t", telemetry, "--notify", "smtp", env=env)
    assert out.exit_code == 1, out.output
    assert PASSWORD not in out.output
    assert len(inbox.messages) == before + 1
    mail_from, rcpt_tos, content = inbox.messages[-1]
    assert (mail_from, rcpt_tos) == ("ga-requests@contoso.com", ["oncall@contoso.com"])
    message = BytesParser(policy=email_policy.default).parsebytes(content)
    assert message["Subject"] == "[connector-ga] contoso-tasks: page 1h/5m FIRING"
    body = message.get_body(("plain",)).get_content()
    assert "page 1h/5m alert FIRING (burn 20 over 1h, 20 over 5m; factor 14.4)" in body
    assert '"schema": "connector-ga/watch/v1"' in body
    # The same episode: no second email.
    assert invoke("watch", "-t", telemetry, "--notify", "smtp", env=env).exit_code == 1
    assert len(inbox.messages) == before + 1


def test_smtp_failure_is_one_line_and_retried(here, smtp_server):  # noqa: F811
    controller, inbox, cert = smtp_server
    env = {**smtp_env(controller, cert), "CONNECTOR_GA_SMTP_TO": "oncall@contoso.com"}
    telemetry = write(here, traffic(last_hour_at_one_percent))
    closed = {**env, "CONNECTOR_GA_SMTP_PORT": str(free_port())}
    out = invoke("watch", "-t", telemetry, "--notify", "smtp", env=closed)
    assert out.exit_code == 2
    assert "email notification failed: cannot connect to SMTP server" in out.output
    assert "connection refused" in out.output and PASSWORD not in out.output
    before = len(inbox.messages)
    assert invoke("watch", "-t", telemetry, "--notify", "smtp", env=env).exit_code == 1
    assert len(inbox.messages) == before + 1  # not advanced: told on the next run


def test_smtp_writes_to_the_support_contact_without_smtp_to(here, smtp_server):  # noqa: F811
    """No CONNECTOR_GA_SMTP_TO nor _FROM: `watch` mails ga.toml's support contact, from it,
    through the real SMTP server (STARTTLS, AUTH)."""
    controller, inbox, cert = smtp_server
    env = smtp_env(controller, cert)
    del env["CONNECTOR_GA_SMTP_FROM"]
    (here / "ga.toml").write_text(
        '[connector]\nid = "contoso-tasks"\n\n[support.connector]\nhours = ["Mon-Fri 08:00-17:00"]'
        '\ntimezone = "UTC"\ncontact = "support@contoso.com"\n',
        "utf-8",
    )
    telemetry = write(here, traffic(last_hour_at_one_percent))
    before = len(inbox.messages)
    out = invoke("watch", "-t", telemetry, "--notify", "smtp", env=env)
    assert out.exit_code == 1, out.output  # the fast page fires (see the first test)
    assert len(inbox.messages) == before + 1
    mail_from, rcpt_tos, content = inbox.messages[-1]
    assert (mail_from, rcpt_tos) == ("support@contoso.com", ["support@contoso.com"])
    message = BytesParser(policy=email_policy.default).parsebytes(content)
    assert (message["From"], message["To"]) == ("support@contoso.com", "support@contoso.com")
    assert message["Subject"] == "[connector-ga] contoso-tasks: page 1h/5m FIRING"
    body = message.get_body(("plain",)).get_content()
    # 1 h: 120 faults / 12,000 eligible = 1% → × 2000 = 20; 5 m: 10 / 1,000 → 20.
    assert "page 1h/5m alert FIRING (burn 20 over 1h, 20 over 5m; factor 14.4)" in body
    assert PASSWORD not in out.output and PASSWORD.encode() not in content


# ---- store, in place, fleet, Spark ---------------------------------------------------------


def test_watch_from_a_store_equals_watch_in_place(here):
    telemetry = write(here, traffic(last_hour_at_one_percent))
    store = str(here / "s.duckdb")
    assert invoke("ingest", telemetry, "--store", store).exit_code == 0
    code, stored, output = watch_json("--store", store)
    assert code == 1, output
    _, in_place, _ = watch_json("-t", telemetry)
    assert stored == in_place
    with webhook_server() as (base, received):
        out = invoke("watch", "--store", store, "--notify", f"webhook={base}/hook")
        assert out.exit_code == 1, out.output
        assert len(received) == 1
    rows = load_watch_state(store, [CONNECTOR])  # the state went into the same store
    assert rows[(CONNECTOR, "alert", "page 1h/5m")].state == "firing"
    assert not (here / ".connector-ga").exists()


def test_fleet_watch_lists_every_connector(here):
    rows = traffic(last_hour_at_one_percent) + traffic(clean, connector="fabrikam-crm")
    code, payload, _ = watch_json("-t", write(here, rows), "--all")
    assert code == 1  # one connector fires
    assert [(w["connector"], bool(firing(w))) for w in payload] == [
        ("contoso-tasks", True),
        ("fabrikam-crm", False),
    ]


def test_burn_rates_are_the_same_on_every_engine(here, engine_name):
    telemetry = write(here, traffic(last_hour_at_one_percent))
    run = run_watch(telemetry=[telemetry], engine=engine_name)
    (w,) = run.watches
    assert w.at == AT
    burns = {a.alert.name: (a.burn_long, a.burn_short) for a in w.alerts}
    # As worked by hand in the first test, exactly: 20 and 20; 10/3 and 20; 5/6 and 10;
    # 5/18 and 10/3.
    assert burns == {
        "page 1h/5m": (20, 20),
        "page 6h/30m": (Fraction(10, 3), 20),
        "ticket 1d/2h": (Fraction(5, 6), 10),
        "ticket 3d/6h": (Fraction(5, 18), Fraction(10, 3)),
    }
    assert [a.alert.name for a in w.firing] == ["page 1h/5m"]


def test_a_watch_beside_a_check_reuses_its_figures_and_says_the_same(here):
    # The dashboard watches right after its check and passes the check's figures on
    # (issue 15 item 4): the same budget as the watch alone, worked by hand as in
    # test_budget_equals_the_check_and_runs_out_when_worked_by_hand — 864,000 eligible ×
    # 1/2000 = 432 allowed; 3 × 12 + 1 × 276 = 312 consumed; 120 remaining. A second
    # connector, clean (864,000 eligible, 0 consumed), is judged beside it.
    from connector_ga import api

    rows = traffic(lambda k: 3 if k < 12 else 1 if k < 288 else 0)
    rows += traffic(clean, connector="fabrikam-files")
    p = api.prepare(telemetry=[write(here, rows)], all_connectors=True)
    try:
        run = api.check_prepared(p, trajectory=False)
        alone, beside = api.watch_prepared(p), api.watch_prepared(p, checked=run)
    finally:
        p.release()
    for watches in (alone, beside):
        budgets = {w.connector: w.budget for w in watches}
        assert budgets[CONNECTOR].allowed == pytest.approx(432)
        assert (budgets[CONNECTOR].consumed, budgets["fabrikam-files"].consumed) == (312, 0)
        assert budgets[CONNECTOR].remaining == pytest.approx(120)
    assert [w.to_json_dict() for w in beside] == [w.to_json_dict() for w in alone]
