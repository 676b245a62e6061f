"""Every command's human output at 80 columns (a CI log) and at 200 (issue 18, item 4).

One folder (module fixture) holds hand-made inputs whose names are known: fleet telemetry
of two connectors with long operation names, a store of it, a drafted GA request, a
package with an other-cloud endpoint and a package pair whose diff removes an operation.
Each command runs once per width (Typer's runner, COLUMNS set) and the tests read:

- no line wider than the terminal, except a line holding one word alone (a path or a URL
  longer than the line is shown whole, on its own line);
- every name the command must show (operation, connector, file, URL) whole on one line;
- no name cut: no word of the output is a piece of a name ("ListProje", "fleet.…").

Messages on stderr stay one line each, whatever the width (`cli.common.err`): for the
commands that only speak there (init, simulate, ingest, store verify) the tests read that
the path is whole.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import ga_toml, write_csv
from rich.cells import cell_len
from typer.testing import CliRunner

from connector_ga.cli import app

WIDTHS = (80, 200)
DATA = Path(__file__).parent / "data" / "connectors"

# Two connectors, 30 UTC days 2026-10-22 .. 2026-11-20 (the check window ending on D =
# 2026-11-20; 30 observed days), 4 connections (one user each), three operations, 5
# requests a day per connection and operation, all 200.
CONNECTOR = "contoso-tasks-connector"  # 23 characters
FLEET_PEER = "fabrikam-projects-management-connector"  # 38 characters
OPERATIONS = ("ListProjectsForWorkspace", "CreateTaskInProject", "UpdateTaskAssignment")
DAYS = [dt.date(2026, 10, 22) + dt.timedelta(days=k) for k in range(30)]
CONNECTIONS = ("c1", "c2", "c3", "c4")
# Connector faults of contoso-tasks-connector on 2026-11-10 (500, backend 200,
# fault=connector): 2 on c1 in ListProjectsForWorkspace, 1 on c2 in CreateTaskInProject,
# 1 on c3 in UpdateTaskAssignment. Eligible 30 × 4 × 3 × 5 + 4 = 1,804, faults 4:
# availability 1 − 4/1,804 = 99.778% < 99.95% fails; c1 (2 of 452), c2 and c3 (1 of 451)
# are under the 99.95% bar, c4 over it: SLO 1/4 = 25% fails, so the fix plan names all
# three operations (fewer than its 5 rows) for both criteria.
FAULTS = (("c1", OPERATIONS[0]), ("c1", OPERATIONS[0]), ("c2", OPERATIONS[1]))
FAULTS += (("c3", OPERATIONS[2]),)
CLOUD_URL = "https://api.contoso-projects-management.us/v1"  # the [clouds] endpoint
# BoldSign's "/v1/template/list" is TemplateList; removing it breaks TemplateList and the
# dropdown of SendDocumentFromTemplate (see test_diff).
DIFF_NAMES = ("TemplateList", "SendDocumentFromTemplate")

runner = CliRunner()


def _rows() -> list[dict]:
    rows = []
    for connector in (CONNECTOR, FLEET_PEER):
        for day in DAYS:
            for n, conn in enumerate(CONNECTIONS):
                for op in OPERATIONS:
                    for k in range(5):
                        rows.append(
                            {
                                "time": f"{day}T{9 + k:02d}:{10 + n:02d}:00Z",
                                "status": 200,
                                "backend_status": 200,
                                "connector": connector,
                                "operation": op,
                                "connection_id": f"{connector}-{conn}",
                                "user_id": f"{connector}-u{conn[1:]}",
                            }
                        )
    for i, (conn, op) in enumerate(FAULTS):
        rows.append(
            {
                "time": f"2026-11-10T12:{i:02d}:30Z",
                "status": 500,
                "backend_status": 200,
                "connector": CONNECTOR,
                "operation": op,
                "connection_id": f"{CONNECTOR}-{conn}",
                "user_id": f"{CONNECTOR}-u{conn[1:]}",
                "fault": "connector",
            }
        )
    return rows


def invoke(args: list, width: int, cwd: Path):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": str(width)})


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("width")
    telemetry = write_csv(folder / "fleet-telemetry.csv", _rows())
    ga_toml(
        folder,
        connector_id=FLEET_PEER,
        title="Fabrikam Projects",
        publisher="Fabrikam Ltd",
        preview_since="2026-03-02",
        paths=[telemetry.name],
    )
    shutil.copytree(DATA / "BoldSign", folder / "boldsign-old")
    shutil.copytree(DATA / "BoldSign", folder / "boldsign-new")
    swagger = folder / "boldsign-new" / "apiDefinition.swagger.json"
    definition = json.loads(swagger.read_text("utf-8-sig"))
    definition["paths"].pop("/v1/template/list")
    swagger.write_text(json.dumps(definition, indent=2), "utf-8")
    (folder / "clouds.toml").write_text(
        f'[connector]\npackage = "boldsign-old"\n[clouds]\ngcc-high = "{CLOUD_URL}"\n',
        encoding="utf-8",
    )
    store = folder / "fleet.duckdb"
    ingest = invoke(["ingest", telemetry, "--store", store], 200, folder)
    assert ingest.exit_code == 0, ingest.output
    return {"folder": folder, "telemetry": telemetry, "store": store}


def _commands(world: dict, width: int) -> dict[str, list]:
    folder, telemetry, store = world["folder"], world["telemetry"], world["store"]
    return {
        "check": ["check", "-t", telemetry, "--connector", CONNECTOR, "--as-of", "2026-11-20"],
        "check --all": ["check", "-t", telemetry, "--all", "--as-of", "2026-11-20"],
        "history": [
            "history",
            "-t",
            telemetry,
            "--connector",
            CONNECTOR,
            "--from",
            "2026-10-22",
            "--to",
            "2026-11-20",
        ],
        "watch": ["watch", "-t", telemetry, "--connector", CONNECTOR],
        "store info": ["store", "info", "--store", store],
        "request": ["request", "--out", folder / f"outbox-{width}"],
        "clouds": ["clouds", "--config", folder / "clouds.toml", "--out", folder / f"ed-{width}"],
        "lint": ["lint", folder / "boldsign-old"],
        "diff": ["diff", folder / "boldsign-old", folder / "boldsign-new"],
    }


@pytest.fixture(scope="module")
def runs(world) -> dict[tuple[str, int], object]:
    out = {}
    for width in WIDTHS:
        for name, args in _commands(world, width).items():
            out[name, width] = invoke(args, width, world["folder"])
    for width in WIDTHS:  # the request drafted at this width, reviewed at it
        eml = world["folder"] / f"outbox-{width}" / "ga-request.eml"
        assert eml.is_file(), out["request", width].output
        named = world["folder"] / f"{FLEET_PEER}-request-reviewed.eml"
        shutil.copy(eml, named)
        out["review", width] = invoke(["review", named], width, world["folder"])
    return out


def names_for(world: dict, command: str, width: int) -> list[str]:
    """What each command must show whole, from the inputs above."""
    folder = world["folder"]
    return {
        "check": [CONNECTOR, *OPERATIONS, world["telemetry"].name],
        "check --all": [CONNECTOR, FLEET_PEER, world["telemetry"].name],
        "history": [CONNECTOR],
        "watch": [CONNECTOR],
        "store info": [CONNECTOR, FLEET_PEER, str(world["store"]), "canonical"],
        "request": [str(folder / f"outbox-{width}" / "ga-request.eml")],
        "clouds": ["gcc-high", CLOUD_URL, str(folder / f"ed-{width}" / "gcc-high")],
        "lint": [str(folder / "boldsign-old")],
        "diff": [*DIFF_NAMES, str(folder / "boldsign-old"), str(folder / "boldsign-new")],
        "review": [f"{FLEET_PEER}-request-reviewed.eml", FLEET_PEER],
    }[command]


COMMANDS = (
    "check",
    "check --all",
    "history",
    "watch",
    "store info",
    "request",
    "clouds",
    "lint",
    "diff",
    "review",
)
CASES = [(command, width) for command in COMMANDS for width in WIDTHS]
_PIECE = re.compile(r"[^\s│┃|,;()\[\]\"'`]+")


def assert_fits(text: str, width: int) -> None:
    for line in text.splitlines():
        if cell_len(line.rstrip()) > width:
            assert len(line.split()) == 1, f"{cell_len(line.rstrip())} > {width}: {line!r}"


def assert_whole(text: str, names: list[str]) -> None:
    lines = text.splitlines()
    for name in names:
        assert any(name in line for line in lines), f"{name!r} not whole on one line:\n{text}"
    for line in lines:
        for piece in (p.strip(":") for p in _PIECE.findall(line.replace("…", " …"))):
            for name in names:
                # A piece that is a name's start or end, but neither the name nor a word of
                # the text it sits in: a name cut at the edge of a cell or a line.
                whole = piece in names or name in piece
                if (
                    len(piece) >= 4
                    and not whole
                    and (name.startswith(piece) or name.endswith(piece))
                ):
                    if not any(piece == part for part in re.split(r"[/.:\-]", name)):
                        raise AssertionError(f"{name!r} cut to {piece!r} in {line!r}")
        assert not re.search(r"\w…", line), f"a word cut with an ellipsis: {line!r}"


@pytest.mark.parametrize(("command", "width"), CASES)
def test_human_output_fits_the_width_and_shows_names_whole(runs, world, command, width):
    result = runs[command, width]
    assert result.exit_code in (0, 1), result.output
    assert_fits(result.stdout, width)
    assert_whole(result.stdout, names_for(world, command, width))


@pytest.mark.parametrize("width", WIDTHS)
def test_the_slo_fix_plan_keeps_its_operation_names_at_any_width(runs, width):
    text = runs["check", width].stdout
    slo = text[text.index("SLO 25.000%") : text.index("most affected")]  # 1 of 4 = 25%
    rows = [line.lstrip("* ") for line in slo.splitlines()]
    # The three operations are all the SLO plan's set: each starts a row (or list entry)
    # of its own, whole, besides the sentence that names the set.
    for op in OPERATIONS:
        assert any(row.startswith(op) for row in rows), slo


def test_the_fleet_at_80_columns_is_a_list_with_every_value(runs):
    text = runs["check --all", 80].stdout
    # 9 columns, the connector names 38 wide: too wide for 80 → one entry per connector.
    lines = text.splitlines()
    assert CONNECTOR in lines and FLEET_PEER in lines
    assert "  verdict: not-ready" in lines  # contoso-tasks-connector: availability fails
    assert "┃" not in text


def test_the_fleet_at_200_columns_is_a_table(runs):
    text = runs["check --all", 200].stdout
    header = next(line for line in text.splitlines() if "connector" in line and "┃" in line)
    assert "verdict" in header and "blocking" in header


@pytest.mark.parametrize("width", WIDTHS)
def test_stderr_messages_name_their_path_whole(world, width, tmp_path):
    """init, simulate, store verify: one line each on stderr, the path in it whole."""
    folder = world["folder"]
    simulated = tmp_path / "a-rather-long-folder-name-for-simulated-telemetry" / "sim.csv"
    simulated.parent.mkdir()
    sim = invoke(
        [
            "simulate",
            "-o",
            simulated,
            "--days",
            "2",
            "--connections",
            "2",
            "--users",
            "2",
            "--requests-per-day",
            "10",
        ],
        width,
        folder,
    )
    init = invoke(["init", "--dir", tmp_path, "--id", CONNECTOR], width, folder)
    verify = invoke(["store", "verify", "--store", world["store"]], width, folder)
    assert sim.exit_code == 0 and init.exit_code == 0 and verify.exit_code == 0, verify.output
    assert any(str(simulated) in line for line in sim.stderr.splitlines())
    assert any(str(tmp_path / "ga.toml") in line for line in init.stderr.splitlines())
    assert any(str(world["store"]) in line for line in verify.stderr.splitlines())


def test_a_word_longer_than_the_line_takes_a_line_of_its_own_whole():
    from connector_ga.outputs.fit import wrap

    path = "/a/" + "x" * 30 + "/telemetry.csv"  # 3 + 30 + 14 = 47 characters
    lines = [line.plain for line in wrap(f"read: 1 file: {path} and more", 20, indent="  ")]
    # "read: 1 file:" is 13 ≤ 20; the path (47) alone; "and more" (2 + 8 = 10) after it.
    assert lines == ["read: 1 file:", f"  {path}", "  and more"]
