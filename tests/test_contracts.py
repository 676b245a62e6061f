"""The published contracts: every JSON the program writes keeps its JSON Schema (2020-12),
shipped in the package and printed by `connector-ga schema NAME`.

(`review --json` is validated in test_review.py, on every review it writes.)
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from connector_ga.cli import app
from connector_ga.contracts import CONTRACTS, schema, validation_errors
from connector_ga.simulate import Incident, SimulationSpec, simulate

CONNECTORS = Path(__file__).parent / "data" / "connectors"
runner = CliRunner()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Path:
    """35 days of two connectors, with a connector bug so the result has a fix plan."""
    folder = tmp_path_factory.mktemp("contracts")
    spec = SimulationSpec(
        days=35,
        requests_per_day=150,
        connections=12,
        users=40,
        connectors=["contoso-tasks", "fabrikam-mail"],
        seed=3,
        incidents=[Incident("connector-bug", dt.datetime(2026, 11, 18, 8), hours=4)],
    )
    simulate(spec, folder / "fleet.parquet")
    return folder / "fleet.parquet"


def json_of(*args: str, codes=(0, 1)):
    out = runner.invoke(app, list(args))
    assert out.exit_code in codes, out.output
    return json.loads(out.stdout)


def keeps(document, name: str) -> None:
    assert validation_errors(document, name) == []


# ---- the schemas themselves -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_schema_prints_the_shipped_schema(name):
    out = runner.invoke(app, ["schema", name])
    assert out.exit_code == 0, out.output
    printed = json.loads(out.stdout)
    Draft202012Validator.check_schema(printed)  # a valid 2020-12 schema
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert printed["title"] == f"connector-ga/{name}/v1"
    assert printed == schema(name)
    # The contract's full name works too.
    assert runner.invoke(app, ["schema", f"connector-ga/{name}/v1"]).stdout == out.stdout


def test_an_unknown_schema_is_one_line_and_exit_2():
    out = runner.invoke(app, ["schema", "verdict"])
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "schema 'verdict': expected one of result" in lines[0]


# ---- every JSON the program writes --------------------------------------------------------


def test_check_json_keeps_result_v1_one_and_fleet(fleet, tmp_path):
    one = json_of("check", "-t", str(fleet), "--connector", "contoso-tasks", "--json", "-")
    keeps(one, "result")
    assert one["fix_plan"] is not None and one["forecast"] is not None  # the whole contract
    fleet_results = json_of("check", "-t", str(fleet), "--all", "--json", "-")
    assert [r["connector"] for r in fleet_results] == ["contoso-tasks", "fabrikam-mail"]
    keeps(fleet_results, "result")

    # A hand-edited result breaks it, and the error names the key.
    one["verdict"] = "great"
    one["metrics"]["availability"] = 1.5
    errors = validation_errors(one, "result")
    assert errors[0].startswith("at /verdict: 'great' is not one of")
    assert "at /metrics/availability: 1.5 is greater than the maximum of 1" in errors


def test_history_json_keeps_history_v1(fleet, tmp_path):
    one = json_of(
        "history", "-t", str(fleet), "--connector", "contoso-tasks", "--days", "3", "--json", "-"
    )
    keeps(one, "history")
    # 2026-11-18..2026-11-20: three days.
    assert [d["as_of"] for d in one["days"]] == ["2026-11-18", "2026-11-19", "2026-11-20"]
    path = tmp_path / "history.json"
    runner.invoke(app, ["history", "-t", str(fleet), "--all", "--days", "2", "--json", str(path)])
    many = json.loads(path.read_text())
    assert len(many) == 2
    keeps(many, "history")


def test_watch_json_keeps_watch_v1(fleet):
    one = json_of("watch", "-t", str(fleet), "--connector", "contoso-tasks", "--json", "-")
    keeps(one, "watch")
    assert len(one["alerts"]) == 4  # the four rows of the default policy's table
    keeps(json_of("watch", "-t", str(fleet), "--all", "--json", "-"), "watch")


def test_lint_json_keeps_lint_v1():
    one = json_of("lint", str(CONNECTORS / "Almabase"), "--format", "json")
    keeps(one, "lint")
    many = json_of(
        "lint", str(CONNECTORS / "Almabase"), str(CONNECTORS / "Babybots"), "--format", "json"
    )
    assert len(many) == 2
    keeps(many, "lint")


def test_promote_and_clouds_json_keep_their_contracts(tmp_path):
    package = tmp_path / "XC-Gate"
    shutil.copytree(CONNECTORS / "XC-Gate", package)
    promoted = json_of(
        "promote", str(package), "--out", str(tmp_path / "ga"), "--force", "--format", "json"
    )
    keeps(promoted, "promote")
    assert promoted["changed"] is True

    (tmp_path / "ga.toml").write_text(
        '[clouds]\ngcc-high = "https://api.contoso.us"\nmooncake = "http://api.contoso.com"\n'
    )
    clouds = json_of(
        "clouds",
        str(package),
        "--config",
        str(tmp_path / "ga.toml"),
        "--out",
        str(tmp_path / "editions"),
        "--format",
        "json",
    )
    keeps(clouds, "clouds")
    # gcc-high's .us host passes; mooncake's plain-http, non-China host does not.
    assert [(e["cloud"], e["ok"]) for e in clouds["editions"]] == [
        ("gcc-high", True),
        ("mooncake", False),
    ]
