"""The HTML evidence report and the Markdown summary of a simulated connector.

The connector is healthy except for an injected connector-bug window: the simulator says
how many requests it broke, and that number must reach the report as connector faults.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from itertools import pairwise

import pytest
from typer.testing import CliRunner

from connector_ga.api import run_check
from connector_ga.cli import app
from connector_ga.config import parse_config
from connector_ga.outputs import html_report, markdown, wording
from connector_ga.outputs.charts import CHARTS
from connector_ga.simulate import Incident, SimulationSpec, simulate

GA_TOML = {
    "connector": {
        "id": "contoso-tasks",
        "title": "Contoso Tasks",
        "publisher": "Contoso Ltd",
        "preview_since": dt.date(2026, 3, 2),
    },
    "backend": {"status": "production", "evidence": "https://status.contoso.com"},
    "support": {
        "backend": {"hours": ["Mon-Fri 08:00-17:00"], "timezone": "America/Los_Angeles"},
        "connector": {
            "hours": ["Mon-Fri 08:00-18:00"],
            "timezone": "America/Los_Angeles",
            "contact": "connectors@contoso.com",
        },
    },
    "clouds": {"gcc-high": "https://api.contoso.us"},
}
BUG = Incident("connector-bug", dt.datetime(2026, 11, 12, 8), hours=6)
SPEC = dict(days=45, requests_per_day=2500, connections=200, users=1000, seed=5)


@pytest.fixture(scope="module")
def bug_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bug")
    summary = simulate(SimulationSpec(**SPEC, incidents=[BUG]), folder / "t.parquet")
    run = run_check(config=parse_config(GA_TOML), telemetry=[str(folder / "t.parquet")])
    return summary, run.results[0]


@pytest.fixture(scope="module")
def report(bug_run):
    return html_report.render(bug_run[1])


class ReportParser(HTMLParser):
    """What the tests look at: links, SVGs per chart figure, and each criterion's row text."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.svgs = 0
        self.figure: str | None = None
        self.svgs_in_figure: dict[str, int] = {}
        self.row: str | None = None
        self.rows: dict[str, list[str]] = {}
        self.meta_csp: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        for name in ("src", "href"):
            if name in attrs or f"xlink:{name}" in attrs:
                self.urls.append((tag, name, attrs.get(name) or attrs.get(f"xlink:{name}")))
        if tag == "meta" and attrs.get("http-equiv") == "Content-Security-Policy":
            self.meta_csp = attrs.get("content")
        if tag == "figure":
            self.figure = attrs.get("data-chart")
            self.svgs_in_figure[self.figure] = 0
        if tag == "svg":
            self.svgs += 1
            if self.figure:
                self.svgs_in_figure[self.figure] += 1
        if tag == "tr" and "data-criterion" in attrs:
            self.row = attrs["data-criterion"]
            self.rows[self.row] = []

    def handle_endtag(self, tag):
        if tag == "figure":
            self.figure = None
        if tag == "tr":
            self.row = None

    def handle_data(self, data):
        if self.row and data.strip():
            self.rows[self.row].append(data.strip())


@pytest.fixture(scope="module")
def parsed(report):
    parser = ReportParser()
    parser.feed(report)
    parser.close()
    return parser


def test_report_parses_with_every_section(parsed, report):
    assert parsed.tags[0] == "html"
    for heading in (
        "Criteria",
        "Charts",
        "Data quality",
        "How each number was computed",
        "Policy",
        "Key findings",
    ):
        assert f"<h2>{heading}</h2>" in report
    assert "power-platform-ga" in report and "2026-11" in report  # policy name and version


def test_banner_names_the_blocking_criteria(bug_run, report):
    _, result = bug_run
    assert result.verdict == "not-ready"
    banner = report[report.index('class="banner') : report.index("</div>", report.index("banner"))]
    assert "Blocking criteria" in banner
    assert "Availability" in banner and "SLO" in banner


def test_connector_faults_are_the_injected_bug(bug_run, report):
    summary, result = bug_run
    injected = summary.injected["connector-bug"]
    # Healthy traffic has no connector faults, so every one is an injected request.
    assert result.metrics.faults["connector"] == injected
    assert f"<strong>{injected:,}</strong> consumed" in report
    availability = result.criterion("availability")
    eligible = result.metrics.eligible
    assert availability.value == pytest.approx(1 - injected / eligible)
    assert f"{(1 - injected / eligible) * 100:.3f}%" in report


def test_criteria_table_shows_the_results_numbers(bug_run, parsed):
    _, result = bug_run
    assert list(parsed.rows) == [c.id for c in result.criteria]
    for c in result.criteria:
        cells = parsed.rows[c.id]
        assert wording.format_value(c) in cells, c.id
        assert wording.format_threshold(c) in cells, c.id
        assert wording.interval_text(c) in cells, c.id
        assert wording.sample_text(c) in cells, c.id
        assert wording.STATUS_TEXT[c.status] in " ".join(cells)
    success = parsed.rows["success-rate"]
    c = result.criterion("success-rate")
    low, high = c.interval
    assert f"{low * 100:.3f}% – {high * 100:.3f}%" in success  # the Wilson interval


def test_one_svg_per_chart(parsed, bug_run):
    # The bug window gives every chart data, but a forecast chart is drawn only for a window
    # criterion that fails today: availability and SLO, not the success rate.
    failing = {c.id for c in bug_run[1].criteria if c.status == "fail"}
    expected = {
        chart_id
        for chart_id, *_ in CHARTS
        if not chart_id.startswith("forecast-") or chart_id.removeprefix("forecast-") in failing
    }
    assert {"forecast-availability", "forecast-slo"} <= expected
    assert "forecast-success-rate" not in expected
    assert set(parsed.svgs_in_figure) == expected
    assert all(n == 1 for n in parsed.svgs_in_figure.values()), parsed.svgs_in_figure
    assert parsed.svgs == len(expected)


def test_charts_draw_the_thresholds(bug_run):
    from connector_ga.outputs.charts import render_charts

    svgs = {chart.id: chart.svg for chart in render_charts(bug_run[1])}
    # The dashed threshold lines carry these labels (SVG text escapes ">").
    assert "threshold &gt; 80%" in svgs["success-rate"]
    assert "threshold &gt;= 99.95%" in svgs["availability"]
    assert "&gt;= 500" in svgs["wau"]
    assert "&gt;= 50" in svgs["mac"]
    assert "budget exhausted" in svgs["error-budget"]
    assert "stroke-dasharray" in svgs["availability"]


# x-axis labels of the per-day charts: "Nov 03" at 11px is about 36px wide; no more than 8
# on the 520px axis leaves each at least ~65px, so neighbours keep a gap of ~28px or more.
DAY_LABEL = re.compile(
    r'<text[^>]*transform="translate\(([-\d.]+),[-\d.]+\)"[^>]*opacity="([\d.]+)"[^>]*>'
    r"((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d\d)</text>"
)
DAY_AXES = ("success-rate", "availability", "error-budget", "mac", "status-classes", "faults")


def day_labels(svg: str) -> list[tuple[float, str, str]]:
    """(x, opacity, text) of every date label in the SVG, hidden ones included: a label Vega
    hides for overlapping (opacity 0) is still in the SVG, read aloud, found and copied."""
    return [(float(x), opacity, text) for x, opacity, text in DAY_LABEL.findall(svg)]


def assert_readable(labels: list[tuple[float, str, str]]) -> None:
    assert len(labels) <= 8, [text for *_, text in labels]
    assert all(opacity == "1" for _, opacity, _ in labels), "a label hidden for overlapping"
    xs = [x for x, *_ in labels]
    assert all(b - a >= 60 for a, b in pairwise(xs)), xs  # ≥ 60px apart, left to right


def test_day_axes_label_every_seventh_day_at_30_days(bug_run):
    from connector_ga.outputs.charts import render_charts

    result = bug_run[1]
    assert len(result.metrics.daily) == 30  # the reliability window [D-29, D]
    svgs = {chart.id: chart.svg for chart in render_charts(result)}
    d = result.as_of
    # 30 days: a label every 1, 2 or 3 days would give 30, 15 or 10 (> 8); every 7 days,
    # counted back from D, gives 5: D-28, D-21, D-14, D-7, D.
    expected = [f"{d - dt.timedelta(days=n):%b %d}" for n in (28, 21, 14, 7, 0)]
    for chart_id in DAY_AXES:
        labels = day_labels(svgs[chart_id])
        assert_readable(labels)
        assert [text for *_, text in labels] == expected, chart_id


def test_status_chart_labels_every_fourteenth_day_at_90_days():
    from types import SimpleNamespace

    from connector_ga.outputs.charts import status_chart, to_svg
    from connector_ga.result import DayPoint

    start = dt.date(2026, 1, 1)
    daily = [
        DayPoint(
            date=start + dt.timedelta(days=n),
            requests=100,
            eligible=100,
            successes=97,
            faults={"client": 3},
            status_classes={"2xx": 97, "4xx": 3},
        )
        for n in range(90)
    ]
    svg = to_svg(status_chart(SimpleNamespace(metrics=SimpleNamespace(daily=daily))), "s", "s")
    # 1 Jan + 89 days = 31 Mar. Steps 1, 2, 3, 7 give 90, 45, 30, 13 labels (> 8); every
    # 14 days gives 7, back from Mar 31: Mar 31, 17, 3, Feb 17, 3, Jan 20, 6.
    labels = day_labels(svg)
    assert_readable(labels)
    assert [text for *_, text in labels] == [
        "Jan 06",
        "Jan 20",
        "Feb 03",
        "Feb 17",
        "Mar 03",
        "Mar 17",
        "Mar 31",
    ]


def test_no_external_url(parsed, report):
    for tag, attr, url in parsed.urls:
        assert url.startswith("#") or url.startswith("data:"), (tag, attr, url)
    assert not {"script", "link", "img", "iframe", "object"} & set(parsed.tags)
    assert parsed.meta_csp and "default-src 'none'" in parsed.meta_csp
    # The backend's status page is named as text, never linked.
    assert "https://status.contoso.com" in report


def test_svg_ids_are_unique_across_charts(report):
    import re

    ids = re.findall(r'\bid="([^"]+)"', report)
    assert len(ids) == len(set(ids))


def test_rendering_is_deterministic(bug_run, report):
    again = html_report.render(bug_run[1])
    assert again == report  # same Result, same bytes: the evidence hash relies on it


def test_package_findings_render_only_when_present(bug_run, report):
    assert "Connector package" not in report
    result = bug_run[1].model_copy()
    object.__setattr__(
        result,
        "package",
        {
            "path": "connector/",
            "findings": [
                {
                    "rule": "preview-host",
                    "severity": "error",
                    "file": "apiDefinition.swagger.json",
                    "line": 7,
                    "message": "host api-staging.contoso.com is not a production host",
                }
            ],
        },
    )
    with_package = html_report.render(result)
    assert "Connector package" in with_package
    assert "api-staging.contoso.com is not a production host" in with_package
    assert "1 error" in with_package


# ---- headless Chromium -------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _png_size(path) -> tuple[int, int]:
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _open_in_chromium(html_path, tmp_path) -> tuple[str, object]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make test` installs it")
        pytest.skip("chromium not installed (make test installs it)")
    shot = tmp_path / "shot.png"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        f"--screenshot={shot}",
        "--window-size=1280,800",
        html_path.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90)
    console = [
        line for line in done.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line
    ]
    return "\n".join(console), shot


def test_report_in_headless_chromium(report, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(report, encoding="utf-8")
    console, shot = _open_in_chromium(page, tmp_path)
    assert console == ""  # no console message at all: no error, no blocked load
    assert shot.is_file()
    assert _png_size(shot) == (1280, 800)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_chromium_console_capture_sees_errors(report, tmp_path):
    """The check above can fail: a page with a script error is caught."""
    page = tmp_path / "broken.html"
    page.write_text(report.replace("</main>", "<script>throw new Error('boom')</script></main>"))
    console, _ = _open_in_chromium(page, tmp_path)
    assert "CONSOLE" in console


# ---- Markdown ----------------------------------------------------------------------------


def _cells(line: str) -> int:
    return line.replace("\\|", "").count("|") - 1


def _tables_are_valid(text: str) -> int:
    lines = text.splitlines()
    tables = 0
    i = 0
    while i < len(lines):
        if lines[i].startswith("|"):
            header = _cells(lines[i])
            assert set(lines[i + 1].replace("|", "").replace(":", "")) == {"-"}, lines[i + 1]
            assert _cells(lines[i + 1]) == header
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                assert _cells(lines[j]) == header, lines[j]
                j += 1
            tables += 1
            i = j
        else:
            i += 1
    return tables


def test_markdown_summary(bug_run):
    _, result = bug_run
    text = markdown.render(result)
    assert len(text) < 65_000
    assert "Not ready" in text and "`not-ready`" in text
    assert _tables_are_valid(text) == 1
    for c in result.criteria:
        assert wording.format_value(c) in text
    findings = [line for line in text.splitlines() if line[:3] in ("1. ", "2. ", "3. ")]
    assert len(findings) == 3
    assert "Availability fails" in findings[0]
    assert "4. " not in text


def test_markdown_of_a_huge_fleet_stays_under_the_limit(bug_run):
    _, result = bug_run
    fleet = [result.model_copy(update={"connector": f"connector-{i:04d}"}) for i in range(400)]
    text = markdown.render(fleet)
    assert len(text) < 65_000
    assert "more lines left out" in text.splitlines()[-1]
    assert _tables_are_valid(text) >= 1  # cut between whole rows, never inside one


def test_markdown_escapes_pipes(bug_run):
    _, result = bug_run
    odd = result.model_copy(update={"title": "A | B"})
    assert _tables_are_valid(markdown.render([odd, result])) >= 2


# ---- the check command -------------------------------------------------------------------


def _write_ga_toml(folder, telemetry: str) -> None:
    folder.joinpath("ga.toml").write_text(
        f"""
[connector]
id = "contoso-tasks"
title = "Contoso Tasks"
publisher = "Contoso Ltd"
preview_since = 2026-03-02

[telemetry]
paths = ["{telemetry}"]

[backend]
status = "production"

[support.backend]
hours = ["Mon-Fri 08:00-17:00"]
timezone = "America/Los_Angeles"

[support.connector]
hours = ["Mon-Fri 08:00-18:00"]
timezone = "America/Los_Angeles"
contact = "connectors@contoso.com"
""",
        encoding="utf-8",
    )


def test_check_writes_report_and_markdown(tmp_path, monkeypatch, bug_run):
    simulate(SimulationSpec(**SPEC, incidents=[BUG]), tmp_path / "t.parquet")
    _write_ga_toml(tmp_path, "t.parquet")
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(
        app, ["check", "--report", "out/report.html", "--markdown", "out/summary.md"]
    )
    assert out.exit_code == 1, out.output  # not-ready
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    # Every chart but the success rate's forecast: it passes (see test_one_svg_per_chart).
    assert html.count("<svg") == len(CHARTS) - 1
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "`not-ready`" in summary
    assert not list((tmp_path / "out").glob(".*.tmp"))  # written atomically, no leftovers


def test_check_markdown_to_stdout(tmp_path, monkeypatch):
    simulate(SimulationSpec(**SPEC), tmp_path / "t.parquet")
    _write_ga_toml(tmp_path, "t.parquet")
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(app, ["check", "--markdown", "-"])
    assert out.exit_code == 0, out.output
    assert "# connector-ga" in out.stdout and "| criterion |" in out.stdout
    both = CliRunner().invoke(app, ["check", "--markdown", "-", "--json", "-"])
    assert both.exit_code == 2


def test_fleet_report_is_one_file_with_every_connector(tmp_path):
    spec = SimulationSpec(**{**SPEC, "requests_per_day": 800}, connectors=["alpha", "beta"])
    simulate(spec, tmp_path / "fleet.parquet")
    report_path = tmp_path / "fleet.html"
    out = CliRunner().invoke(
        app,
        [
            "check",
            "--all",
            "-t",
            str(tmp_path / "fleet.parquet"),
            "--report",
            str(report_path),
            "--markdown",
            str(tmp_path / "fleet.md"),
        ],
    )
    assert out.exit_code in (0, 1), out.output
    html = report_path.read_text(encoding="utf-8")
    assert 'id="alpha"' in html and 'id="beta"' in html
    assert 'href="#alpha"' in html  # the fleet table links to each connector's section
    parser = ReportParser()
    parser.feed(html)
    assert parser.svgs == html.count("<figure")
    md = (tmp_path / "fleet.md").read_text(encoding="utf-8")
    assert "# connector-ga fleet" in md and "### " in md
    assert _tables_are_valid(md) == 3  # the fleet table and one per connector
