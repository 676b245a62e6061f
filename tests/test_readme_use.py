"""The README's commands run as written (issue 16 item 17): the `Use` sequence (`simulate`,
`init` on the package in `examples/`, `check`) and the two `promote` lines, parsed from
README.md's code blocks and run one after the other in a folder of their own."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "connector_ga.cli"]
ENV = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


def code_block(section: str) -> list[str]:
    """The lines of the first code block after the heading `section` of README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index(section) :]
    block = re.search(r"```\n(.*?)```", after, re.DOTALL)
    assert block, section
    return block.group(1).splitlines()


def words(line: str) -> list[str]:
    """A README line's arguments: `connector-ga` dropped, the `# comment` cut off."""
    args = shlex.split(line, comments=True)
    assert args[0] == "connector-ga", line
    return args[1:]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300
    )


def test_the_use_sequence_runs_as_written(tmp_path):
    lines = code_block("## Use")
    # The sequence: the lines up to the first bare `check` (which reads ./ga.toml).
    end = next(i for i, line in enumerate(lines) if words(line) == ["check"])
    sequence = [words(line) for line in lines[: end + 1]]
    assert [args[0] for args in sequence] == ["simulate", "init", "check"]
    shutil.copytree(ROOT / "examples", tmp_path / "examples")  # run as from the checkout
    codes = []
    for args in sequence:
        done = run(args, tmp_path)
        assert "Traceback" not in done.stderr and "error:" not in done.stderr, done.stderr
        codes.append(done.returncode)
    # simulate and init succeed; check judges contoso-tasks (the simulated connector, whose
    # id init derives from the package title "Contoso Tasks") on telemetry.parquet, which
    # init's --telemetry declared: insufficient-data while the backend and the support
    # are not declared, exit 1, never 2 (bad input).
    assert codes == [0, 0, 1], done.stderr
    assert 'paths = ["telemetry.parquet"]' in (tmp_path / "ga.toml").read_text(encoding="utf-8")
    assert "contoso-tasks" in done.stdout
    assert "insufficient" in done.stdout.lower()


def test_the_two_promote_lines_run_one_after_the_other(tmp_path):
    lines = [line for line in code_block("### The connector package") if " promote " in line]
    assert len(lines) == 2
    shutil.copytree(ROOT / "examples" / "contoso-tasks" / "connector", tmp_path / "connector")
    for line in lines:
        done = run(words(line), tmp_path)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "ga-edition" / "apiDefinition.swagger.json").is_file()
