"""The wheel: built from a copy of the project, it holds the policies, templates and
schemas, installs into a fresh venv, and `connector-ga check` works there, away from the
source tree.

The fresh venv gets the wheel itself (no editable install, no source on its path); its
dependencies are the test environment's, seen through a path file that lists the
test venv's site-packages as a plain folder (so that venv's own .pth files, the editable
install among them, are not run). Resolving every dependency again from the package
index costs about a minute here: `make wheel-check` does that whole install.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import write_csv

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ("clouds", "history", "lint", "promote", "result", "review", "watch")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation"]
        + ["--no-index", "-q", "-w", str(work / "dist")],
        check=True,
        capture_output=True,
        timeout=180,
    )
    (built,) = (work / "dist").glob("connector_ga-*.whl")
    return built


def test_the_wheel_holds_policies_templates_and_schemas(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "connector_ga/policies/power-platform-ga.toml" in names
    for template in ("report.html.j2", "report.css", "request.txt.j2", "request.html.j2"):
        assert f"connector_ga/templates/{template}" in names
    for name in SCHEMAS:
        assert f"connector_ga/schemas/{name}.json" in names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Dist: jsonschema>=4.18" in requires
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert (
        "connector-ga = connector_ga.cli:app" in zipfile.ZipFile(wheel).read(entry_points).decode()
    )


def test_the_wheel_installs_and_checks_in_a_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
        + ["--no-index", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "publisher"
    work.mkdir()
    days = [dt.date(2026, 11, 1) + dt.timedelta(days=k) for k in range(20)]
    rows = [{"time": f"{d}T10:00:00Z", "status": 200, "connection_id": "c1"} for d in days]
    write_csv(work / "t.csv", rows)
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import connector_ga, json; from connector_ga.contracts import schema; "
            "from connector_ga.outputs.templates import environment; "
            "print(json.dumps([connector_ga.__file__, schema('result')['title'], "
            "sorted(environment().list_templates())]))",
        ],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    )
    where, title, templates = json.loads(probe.stdout)
    assert Path(where).is_relative_to(venv), where  # the wheel's copy, not the source tree
    assert title == "connector-ga/result/v1"
    assert {"report.html.j2", "request.txt.j2", "request.html.j2"} <= set(templates)

    check = subprocess.run(
        [str(venv / "bin" / "connector-ga"), "check", "-t", "t.csv", "--json", "r.json"]
        + ["--markdown", "r.md"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=180,
    )
    # No ga.toml: backend-production and support-model have nothing declared, so the
    # verdict is insufficient-data, exit 1.
    assert check.returncode == 1, check.stdout + check.stderr
    result = json.loads((work / "r.json").read_text())
    assert result["verdict"] == "insufficient-data"
    assert result["policy"]["name"] == "power-platform-ga"  # the shipped policy
    # 20 days of 1 request each, all 200, in the window [2026-10-22, 2026-11-20].
    assert result["metrics"]["eligible"] == 20
    assert "insufficient-data" in (work / "r.md").read_text()
