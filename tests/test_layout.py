"""The layout shows the flow (issue 15, item 7): requests become rollups in one place
(`rollups.py`, on the engine), rollups become a Result in another (`metrics/`,
`evaluate.py`, `trajectory/`), and the evaluation never reaches back to the engine, the
sources, the store or the front door. Read from the source (ast), so an import inside a
function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "connector_ga"
FORBIDDEN = (
    "connector_ga.engine",
    "connector_ga.sources",
    "connector_ga.store",
    "connector_ga.api",
)


def evaluation_modules() -> list[Path]:
    metrics = sorted((PACKAGE / "metrics").glob("*.py"))
    trajectory = sorted((PACKAGE / "trajectory").glob("*.py"))
    return [*metrics, PACKAGE / "evaluate.py", *trajectory]


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every module an `import` or `from … import …` anywhere in the file names, relative
    imports resolved (`from .. import engine` is connector_ga.engine)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def reaches(names: set[str], target: str) -> bool:
    return any(n == target or n.startswith(target + ".") for n in names)


@pytest.mark.parametrize("path", evaluation_modules(), ids=lambda p: module_name(p))
def test_the_evaluation_imports_no_engine_source_store_or_front_door(path: Path) -> None:
    names = imported(path)
    assert [t for t in FORBIDDEN if reaches(names, t)] == []
    # Nor Ibis, nor pandas: it queries the rollups in a local DuckDB session, directly.
    assert [t for t in ("ibis", "pandas") if reaches(names, t)] == []


def test_the_checker_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The three ways a module could reach the engine, each caught (a check of the test)."""
    folder = tmp_path / "connector_ga" / "trajectory"
    folder.mkdir(parents=True)
    cases = {
        "direct.py": "import connector_ga.engine\n",
        "relative.py": "from .. import engine\n",
        "inside.py": "def f():\n    from ..sources.files import discover\n",
        "fine.py": "from ..metrics.series import metric_series\nfrom . import trend\n",
    }
    found = {}
    for file, text in cases.items():
        (folder / file).write_text(text)
        found[file] = imported(folder / file, tmp_path / "connector_ga")
    assert reaches(found["direct.py"], "connector_ga.engine")
    assert reaches(found["relative.py"], "connector_ga.engine")
    assert reaches(found["inside.py"], "connector_ga.sources")
    assert not any(reaches(found["fine.py"], t) for t in FORBIDDEN)


def test_requests_become_rollups_in_one_place() -> None:
    """rollups.py reads the requests (engine, sources); the reading of rollups into metrics
    (metrics/compute.py) does not."""
    assert reaches(imported(PACKAGE / "rollups.py"), "connector_ga.engine")
    assert not reaches(imported(PACKAGE / "metrics" / "compute.py"), "connector_ga.engine")


def test_wording_and_the_terminal_do_not_import_each_other() -> None:
    terminal = imported(PACKAGE / "outputs" / "terminal.py")
    wording = imported(PACKAGE / "outputs" / "wording.py")
    assert reaches(terminal, "connector_ga.outputs.wording")
    assert not reaches(wording, "connector_ga.outputs.terminal")


def test_a_watch_is_worded_in_outputs() -> None:
    """The watch's terminal view takes its sentences from outputs/, not from the sending."""
    view = imported(PACKAGE / "outputs" / "watch_terminal.py")
    assert not reaches(view, "connector_ga.trajectory.notify")


def test_the_evaluation_loads_none_of_them_even_indirectly() -> None:
    """Importing every evaluation module in a fresh interpreter loads no engine, source,
    store or front door module through some other module either."""
    import subprocess
    import sys

    modules = [module_name(p) for p in evaluation_modules()]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r})))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ibis', 'pandas', 'sqlglot'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["[]", "[]"]
