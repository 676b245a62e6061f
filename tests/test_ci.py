"""Where publishers already work: the GitHub Action (action.yml), the Azure Pipelines
template (ci/azure-pipelines.yml) and the pre-commit hook (.pre-commit-hooks.yaml).

Their scripts run as the CI would run them: bash with the step's environment (inputs
substituted), the GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files in a temp folder, and
connector-ga on PATH (the action's `install: false`; its install step and
actions/setup-python are what GitHub provides, not run here).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import write_csv

ROOT = Path(__file__).resolve().parent.parent
CONNECTORS = ROOT / "tests" / "data" / "connectors"
BIN = Path(sys.executable).parent  # where connector-ga is installed beside this Python
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
DAYS = [dt.date(2026, 10, 22) + dt.timedelta(days=k) for k in range(30)]
GA_TOML = """
[connector]
id = "contoso-tasks"
title = "Contoso Tasks"
publisher = "Contoso Ltd"
preview_since = 2026-03-02

[backend]
status = "production"

[support.backend]
hours = ["Mon-Fri 08:00-17:00"]
timezone = "America/Los_Angeles"

[support.connector]
hours = ["Mon-Fri 08:00-18:00"]
timezone = "America/Los_Angeles"
contact = "connectors@contoso.com"
"""


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A publisher's repository: ga.toml, a lint-clean package and 30 days of telemetry:
    3 connections x 10 requests a day, all 200 (900 eligible requests, no fault)."""
    root = tmp_path_factory.mktemp("workspace")
    (root / "ga.toml").write_text(GA_TOML, encoding="utf-8")
    shutil.copytree(CONNECTORS / "Almabase", root / "connector")
    (root / "logs").mkdir()
    rows = [
        {
            "time": f"{day}T10:{k:02d}:00Z",
            "status": 200,
            "connection_id": conn,
            "user_id": "u" + conn,
        }
        for day in DAYS
        for conn in ("c1", "c2", "c3")
        for k in range(10)
    ]
    write_csv(root / "logs" / "requests.csv", rows)
    return root


def _environment(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _bash(script: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    """As GitHub runs `shell: bash` (and Azure a bash step): errexit and pipefail."""
    path = cwd / ".step.sh"
    path.write_text(script, encoding="utf-8")
    try:
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        path.unlink()


# ---- the GitHub Action ------------------------------------------------------------------


ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


def _github_value(expression: str, inputs: dict, steps: dict) -> str:
    if expression.startswith("inputs."):
        return inputs[expression.removeprefix("inputs.")]
    if expression == "github.action_path":
        return str(ROOT)
    found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
    if found:
        return steps.get(found[1], {}).get(found[2], "")
    raise AssertionError(f"an expression the test does not know: {expression}")


def _github_if(condition: str, inputs: dict) -> bool:
    found = re.fullmatch(r"inputs\.([\w-]+) (==|!=) '(.*)'", condition)
    assert found, f"an if the test does not know: {condition}"
    equal = inputs[found[1]] == found[3]
    return equal if found[2] == "==" else not equal


def _outputs(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def run_action(workspace: Path, tmp: Path, **given: str) -> dict:
    """Run action.yml's steps as GitHub would; stop at the first failing step."""
    inputs = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    inputs.update({"install": "false", **given})
    summary = tmp / "step_summary.md"
    steps: dict[str, dict] = {}
    log, code = [], 0
    for n, step in enumerate(ACTION["runs"]["steps"]):
        if "if" in step and not _github_if(step["if"], inputs):
            continue
        assert "run" in step, f"only actions/setup-python is left to GitHub: {step}"
        env = _environment(tmp)
        for name, value in step.get("env", {}).items():
            env[name] = EXPR.sub(lambda m: _github_value(m[1], inputs, steps), str(value))
        output = tmp / f"output_{n}"
        env |= {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
        assert step["shell"] == "bash" and not EXPR.search(step["run"]), "inputs only via env"
        done = _bash(step["run"], env, workspace)
        log.append(done.stdout + done.stderr)
        steps[step.get("id", f"step{n}")] = _outputs(output)
        if done.returncode:
            code = done.returncode
            break
    outputs = {
        name: EXPR.sub(lambda m: _github_value(m[1], inputs, steps), spec["value"])
        for name, spec in ACTION["outputs"].items()
    }
    text = summary.read_text() if summary.exists() else ""
    return {"code": code, "outputs": outputs, "summary": text, "log": "\n".join(log)}


def test_the_action_lints_checks_summarises_and_passes(workspace, tmp_path):
    ran = run_action(
        workspace,
        tmp_path,
        package="connector",
        telemetry="logs/*.csv",
        config="ga.toml",
        report="evidence/report.html",
    )
    assert ran["code"] == 0, ran["log"]
    out = ran["outputs"]
    # 900 of 900 requests without fault pass the required criteria; 3 connections < 50 MAC
    # and a preview since 2026-03-02 (6 months before 2026-11-20): the exception applies.
    assert out["verdict"] == "ready-with-exception"
    assert out["ready-on"] == "2026-11-20"  # ready already, on the day judged
    assert out["report"] == "evidence/report.html" and out["sarif"] == "connector-ga.sarif"
    assert out["result"] == "evidence/report.json"
    assert (workspace / "evidence" / "report.html").read_text().lower().startswith("<!doctype html")
    result = json.loads((workspace / "evidence" / "report.json").read_text())
    assert result["metrics"]["eligible"] == 900  # 30 days x 3 connections x 10
    sarif = json.loads((workspace / "connector-ga.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert not [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    # The Markdown summary went to the job summary.
    assert "Contoso Tasks (contoso-tasks): Ready for GA with an exception" in ran["summary"]
    assert "| 900 eligible requests |" in ran["summary"]
    assert "connector-ga lint: 0 error(s) in connector" in ran["log"]


def test_the_action_stops_on_bad_input_with_exit_2(workspace, tmp_path):
    ran = run_action(workspace, tmp_path, telemetry="logs/missing-*.csv", config="ga.toml")
    assert ran["code"] == 2
    assert "missing-" in ran["log"]  # connector-ga's one line names the pattern
    assert ran["outputs"]["verdict"] == "" and ran["summary"] == ""


GATE = next(s for s in ACTION["runs"]["steps"] if s["name"].startswith("Gate"))


@pytest.mark.parametrize(
    ("fail_on", "verdict", "lint_errors", "code"),
    [
        ("not-ready", "ready-with-exception", "0", 0),
        ("not-ready", "not-ready", "0", 1),
        ("not-ready", "insufficient-data", "", 1),
        ("not-ready", "ready", "2", 1),  # the lint found errors
        ("warnings", "ready-with-warnings", "0", 1),
        ("warnings", "ready-with-exception", "0", 1),
        ("warnings", "ready", "", 0),
        ("never", "not-ready", "3", 0),
        ("sometimes", "ready", "0", 2),
    ],
)
def test_the_gate_fails_per_fail_on(tmp_path, fail_on, verdict, lint_errors, code):
    env = _environment(tmp_path) | {
        "FAIL_ON": fail_on,
        "VERDICT": verdict,
        "LINT_ERRORS": lint_errors,
    }
    done = _bash(GATE["run"], env, tmp_path)
    assert done.returncode == code, done.stdout + done.stderr
    if code:
        assert done.stdout.startswith("::error::")


# ---- the Azure Pipelines template ----------------------------------------------------------


TEMPLATE = yaml.safe_load((ROOT / "ci" / "azure-pipelines.yml").read_text(encoding="utf-8"))
SETVARIABLE = re.compile(r"^##vso\[task\.setvariable variable=(\w+)(;isOutput=true)?\](.*)$")


def _azure_steps(parameters: dict) -> list[dict]:
    """The steps with the template's `${{ if ne(parameters.X, '') }}` blocks expanded."""
    steps = []
    for item in TEMPLATE["steps"]:
        (key, value), *_ = item.items()
        found = re.fullmatch(r"\$\{\{ if ne\(parameters\.(\w+), ''\) \}\}", key)
        if found:
            steps += value if parameters[found[1]] != "" else []
        else:
            steps.append(item)
    return steps


def test_the_azure_template_checks_and_gates(workspace, tmp_path):
    parameters = {p["name"]: p.get("default", "") for p in TEMPLATE["parameters"]}
    parameters |= {"install": "", "telemetry": "logs/requests.csv", "config": "ga.toml"}
    parameters |= {"report": "azure-report.html", "failOn": "warnings"}
    variables: dict[str, str] = {}
    outputs: dict[str, str] = {}
    code = 0
    for step in _azure_steps(parameters):
        assert "bash" in step, step
        env = _environment(tmp_path)
        for name, value in step.get("env", {}).items():
            value = EXPR.sub(lambda m: parameters[m[1].removeprefix("parameters.")], str(value))
            env[name] = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), value)
        done = _bash(step["bash"], env, workspace)
        for line in done.stdout.splitlines():
            found = SETVARIABLE.match(line)
            if found:
                (outputs if found[2] else variables)[found[1]] = found[3]
        if done.returncode:
            code = done.returncode
            assert "##vso[task.logissue type=error]" in done.stdout
            break
    # ready-with-exception (as in the action's test) fails failOn: warnings.
    assert code == 1
    assert outputs == {"verdict": "ready-with-exception", "readyOn": "2026-11-20"}
    assert (workspace / "azure-report.md").is_file() and (workspace / "azure-report.json").is_file()


# ---- the pre-commit hook -------------------------------------------------------------------


def test_the_pre_commit_hook_lints_the_changed_packages(tmp_path):
    """pre-commit's hook contract: run `entry` with the changed files that `files` matches
    (re.search on each path), from the repository's root; the hook fails on exit != 0."""
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "connector-ga-lint" and hook["language"] == "python"
    assert hook["pass_filenames"] is True
    shutil.copytree(CONNECTORS / "Almabase", tmp_path / "connectors" / "Almabase")
    shutil.copytree(CONNECTORS / "Babybots", tmp_path / "connectors" / "Babybots")
    changed = [
        "README.md",
        "connectors/Almabase/apiDefinition.swagger.json",
        "connectors/Almabase/apiProperties.json",
        "connectors/Babybots/apiProperties.json",
    ]
    files = [path for path in changed if re.search(hook["files"], path)]
    assert files == changed[1:]  # README.md is not a package file

    command = [*shlex.split(hook["entry"]), *hook.get("args", []), *files]
    done = subprocess.run(
        command, cwd=tmp_path, env=_environment(tmp_path), capture_output=True, text=True
    )
    # Babybots' host is a -dev Azure web app, among its 3 errors: the hook fails.
    assert done.returncode == 1, done.stdout + done.stderr
    # Each package is linted once, however many of its files changed: 3 files, 2 packages;
    # Babybots' 3 errors and 2 warnings, and Almabase's 2 warnings.
    assert "2 packages: 3 errors, 4 warnings" in done.stdout, done.stdout
