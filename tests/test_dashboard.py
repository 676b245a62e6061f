"""The dashboard over a small store with hostile strings: pages, JSON twins equal to
`check`/`history`, escaping, the crawl, the token, the static site, a new ingest."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import pytest
from dashboard_support import Server, get, get_json, links_of
from typer.testing import CliRunner

from connector_ga import api, ledger
from connector_ga.cli import app
from connector_ga.outputs import json_result
from connector_ga.store import Store, ingest, segments_dir
from connector_ga.trajectory import history as histories_json

SCRIPT = "<script>alert(1)</script>"  # a connector id (it holds a '/': routing too)
IMG = "<img src=x onerror=alert(1)>"  # an operation name and a rejected value


def cli(*args: str):
    """The command line, in this process (no interpreter start-up per call)."""
    return CliRunner().invoke(app, list(args))


def _csv(path: Path, rows: list[dict]) -> Path:
    columns = ["time", "status", "connector", "operation", "connection_id", "user_id"]
    columns += ["request_id"]
    lines = [",".join(columns)]
    for r in rows:
        lines.append(",".join(str(r.get(c, "")) for c in columns))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _extra_rows() -> list[dict]:
    """alpha: 200 good rows and 2 connector faults of a hostile operation; one row with a
    bad status (line 4: header on line 1, it is the third data row); 'dup-1' twice; gamma:
    requests on 2026-11-10 and 2026-11-13 only."""
    rows = []
    for i in range(200):
        rows.append(
            {
                "time": f"2026-11-19T{i % 24:02d}:{i % 60:02d}:07Z",
                "status": 200,
                "connector": "alpha",
                "operation": "ListTasks",
                "connection_id": f"conn-{i % 5}",
                "user_id": f"u{i % 7}",
                "request_id": f"x-{i}",
            }
        )
    rows[2] = {**rows[2], "status": '"<b>bad</b>"', "request_id": "bad-1"}
    rows[3] = {**rows[3], "request_id": "dup-1"}
    rows[4] = {**rows[4], "request_id": "dup-1"}
    for k in range(2):
        rows.append(
            {
                "time": f"2026-11-19T10:0{k}:00Z",
                "status": 500,
                "connector": "alpha",
                "operation": IMG.replace(",", " "),
                "connection_id": "conn-1",
                "user_id": "u1",
                "request_id": f"f-{k}",
            }
        )
    for day in ("2026-11-10", "2026-11-13"):
        rows.append(
            {
                "time": f"{day}T12:00:00Z",
                "status": 200,
                "connector": "gamma",
                "operation": "Get",
                "connection_id": "g1",
                "user_id": "gu",
                "request_id": f"g-{day}",
            }
        )
    return rows


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dash")
    sim = folder / "sim.parquet"
    done = cli(
        "simulate", "--out", str(sim), "--days", "35", "--requests-per-day", "150",
        "--connections", "12", "--users", "30", "--connector", "alpha",
        "--connector", SCRIPT, "--incident", "connector-bug@2026-11-15T08:00Z/3h",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    extra = _csv(folder / "extra.csv", _extra_rows())
    path = folder / "store.duckdb"
    done = cli("ingest", "--store", str(path), str(sim), str(extra))
    assert done.exit_code == 0, done.output
    with Store.open(path, write=True) as s:  # one sent request in the ledger
        ledger.append(
            s,
            ledger.LedgerEntry(
                id=1,
                connector="alpha",
                state="sent",
                drafted_at=dt.datetime(2026, 11, 21, 9, tzinfo=dt.UTC),
                sent_at=dt.datetime(2026, 11, 21, 10, tzinfo=dt.UTC),
                verdict="ready",
                evidence_hash="0" * 64,
                message_path="ga-request.eml",
                as_of=dt.date(2026, 11, 20),
                recipient="ConnectorPartnerMgmtTeam@service.microsoft.com",
            ),
        )
    return path


@pytest.fixture(scope="module")
def server(store):
    with Server("--store", str(store), "--horizon", "30") as running:
        yield running


def _c(name: str, suffix: str = "") -> str:
    return "/c/" + quote(name, safe="") + suffix


def test_json_twins_equal_check_and_history(server, store):
    """What `check --all --json` and `history --all --json` print (the same library calls
    and the same JSON writers, in this process)."""
    fleet = get_json(server.url + "/index.json")
    check = api.run_check(store=store, all_connectors=True, horizon=30)
    assert fleet["results"] == json.loads(json_result.dumps(check.results))
    assert [r["connector"] for r in fleet["connectors"]] == sorted([SCRIPT, "alpha", "gamma"])
    assert fleet["as_of"] == "2026-11-20"  # the simulation's last day
    run = api.run_history(store=store, all_connectors=True)
    histories = {
        h["connector"]: h for h in json.loads(histories_json.dumps(run.histories, fleet=True))
    }
    results = {r["connector"]: r for r in fleet["results"]}
    for name in (SCRIPT, "alpha", "gamma"):
        page = get_json(server.url + _c(name, ".json"))
        assert page["result"] == results[name]
        assert page["history"] == histories[name]
        twin = get_json(server.url + _c(name, "/availability.json"))
        assert twin["criterion"] == next(
            c for c in results[name]["criteria"] if c["id"] == "availability"
        )
        assert [{k: d[k] for k in ("as_of", "status", "value")} for d in twin["days"]] == [
            {"as_of": d["as_of"], **d["criteria"]["availability"]} for d in histories[name]["days"]
        ]


def test_as_of_shows_a_past_day_as_check_as_of_does(server, store):
    page = get_json(server.url + _c("alpha", ".json") + "?as_of=2026-11-10")
    check = api.run_check(store=store, connector="alpha", as_of=dt.date(2026, 11, 10), horizon=30)
    assert page["result"] == json.loads(json_result.dumps(check.results[0]))
    assert page["history"]["to"] == "2026-11-10"
    assert page["history"]["from"] == "2026-08-13"  # 90 days up to Nov 10: Nov 10 − 89 days
    status, _, body = get(server.url + _c("alpha") + "?as_of=2026-13-45")
    assert status == 400
    assert "as_of=2026-13-45: expected a date such as 2026-11-20" in body


def test_data_page_counts_rejects_duplicates_and_missing_days(server):
    data = get_json(server.url + "/data.json")
    assert data["rejected"] == 1  # the one bad status
    assert [(r["line"], r["reason"]) for r in data["rejects"]] == [(4, "status")]
    assert data["duplicates"] == 1  # 'dup-1' twice: stored once
    # gamma: Nov 10 and Nov 13, judged to Nov 20: Nov 11-12 and Nov 14-20 are empty, 2 + 7.
    assert len(data["days_without_data"]["gamma"]) == 2 + 7
    assert data["days_without_data"]["alpha"] == []
    html = get(server.url + "/data")[2]
    assert "2026-11-14 – 2026-11-20" in html


def test_requests_page_shows_the_ledger(server):
    page = get_json(server.url + "/requests.json")
    (row,) = page["requests"]
    assert row["connector"] == "alpha"
    assert row["decision_expected"] == "2026-12-21"  # sent Nov 21 + 30 days
    assert row["evidence_changed"] is True  # the recorded hash is zeros: anything differs


def test_hostile_strings_are_escaped_everywhere(server):
    pages = ["/", _c(SCRIPT), _c(SCRIPT, "/availability"), _c("alpha"), "/data", "/requests"]
    pages.append(_c("alpha", "/availability"))
    for path in pages:
        status, headers, html = get(server.url + path)
        assert status == 200, path
        assert SCRIPT not in html and "<img src=x" not in html and "<b>bad</b>" not in html
        assert "<script" not in html.lower(), path
        assert "default-src 'none'" in headers["content-security-policy"]
        twin = path.replace("/?", "?")
        twin = "/index.json" if path == "/" else twin + ".json" if "?" not in twin else twin
        status, _, text = get(server.url + twin)
        assert status == 200, twin
        assert "<" not in text and ">" not in text, twin  # JSON inert as HTML too
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in get(server.url + "/")[2]
    assert "&lt;img src=x onerror=alert(1)&gt;" in get(server.url + _c("alpha"))[2]


def _store_files(store: Path) -> dict[str, str]:
    files = [store, *sorted(segments_dir(store).rglob("*"))]
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}


def test_crawl_every_link_answers_200_and_writes_nothing(server, store):
    before = _store_files(store)
    seen, queue, external = set(), ["/"], []
    while queue and len(seen) < 400:  # bounded: the small store has ~40 pages
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        status, _, body = get(server.url + path)
        assert status == 200, path
        if path.endswith(".json") or ".json?" in path:
            continue
        hrefs, sources = links_of(body)
        assert sources == [], path  # no script, image, stylesheet or frame to load
        for href in hrefs:
            target = urlsplit(urljoin(server.url + path, href))
            if f"{target.scheme}://{target.netloc}" != server.url:
                external.append(href)
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    assert external == []
    # 3 connectors x (page + 7 criteria) x 2 (twins) = 48, plus the fleet's links.
    assert len(seen) >= 3 * (1 + 7) * 2
    assert _store_files(store) == before


def test_token_required_beyond_loopback_and_checked(store, tmp_path):
    refused = cli("serve", "--store", str(store), "--host", "0.0.0.0")
    assert refused.exit_code == 2
    lines = refused.output.strip().splitlines()
    assert len(lines) == 1 and "needs a token" in lines[0] and "Traceback" not in refused.output
    with Server(
        "--store", str(store), "--horizon", "30", env={"CONNECTOR_GA_TOKEN": "s3cret"}
    ) as s:
        status, headers, body = get(s.url + "/")
        assert status == 401 and headers.get("www-authenticate") == "Bearer"
        assert "alpha" not in body and "alert" not in body
        status, _, body = get(s.url + "/index.json", {"Authorization": "Bearer wrong"})
        assert status == 401 and "alpha" not in body
        status, _, _ = get(s.url + "/data.json", {"Authorization": "Bearer s3cret"})
        assert status == 200
        import urllib.request

        form = urllib.request.Request(s.url + "/login", data=b"token=s3cret", method="POST")
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(form, timeout=60) as response:  # 303 to / with the cookie
            assert response.status == 200 and response.url == s.url + "/"
        with opener.open(s.url + "/requests", timeout=60) as response:
            assert response.status == 200
    assert "s3cret" not in s.stderr and "s3cret" not in s.stdout
    assert "GET /index.json 401" in s.stderr  # one line per request


def test_site_writes_every_page_with_relative_links(server, store, tmp_path):
    out = tmp_path / "site"
    done = cli("site", "--out", str(out), "--store", str(store), "--horizon", "30")
    assert done.exit_code == 0, done.output
    pages = sorted(out.rglob("*.html"))
    # 4 sorts x 6 verdict filters, requests, data, 3 connectors x (1 + 7 criteria)
    assert len(pages) == 4 * 6 + 2 + 3 * (1 + 7)
    for page in pages:
        assert page.with_suffix(".json").is_file()
        hrefs, sources = links_of(page.read_text(encoding="utf-8"))
        assert sources == []
        for href in hrefs:
            assert "://" not in href and not href.startswith("/"), (page, href)
            target = (page.parent / href.split("#")[0]).resolve()
            assert target.is_file(), (page, href)
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert index["results"] == get_json(server.url + "/index.json")["results"]


def test_bad_input_is_one_line(tmp_path):
    missing = cli("serve", "--store", str(tmp_path / "none.duckdb"))
    assert missing.exit_code == 2 and len(missing.output.strip().splitlines()) == 1
    assert "no store here" in missing.output
    out_of_range = cli("serve", "--store", str(tmp_path / "none.duckdb"), "--port", "70000")
    assert out_of_range.exit_code == 2
    assert out_of_range.output.strip().splitlines() == [
        "error: --port 70000: expected a port between 1 and 65535"
    ]


def test_a_busy_port_is_one_line_naming_it(store):
    """Another program listens on the port: one line naming it, exit 2, no traceback."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))  # a free port of the loopback, taken by us
        holder.listen()
        port = holder.getsockname()[1]
        busy = cli("serve", "--store", str(store), "--port", str(port))
    assert busy.exit_code == 2, busy.output
    assert busy.output.strip().splitlines() == [
        f"error: 127.0.0.1:{port}: cannot listen there (in use)"
    ]


def test_a_new_ingest_shows_on_the_next_request(server, store, tmp_path):
    """Last in the module: it adds a connector to the store the others read."""
    before = get_json(server.url + "/index.json")
    delta = _csv(
        tmp_path / "delta.csv",
        [{"time": "2026-11-20T08:00:00Z", "status": 200, "connector": "delta"}],
    )
    ingest(store, [str(delta)])  # the writer: another process would do the same
    after = get_json(server.url + "/index.json")
    assert after["store_version"] == before["store_version"] + 1  # one publish
    assert len(after["connectors"]) == len(before["connectors"]) + 1 == 4
