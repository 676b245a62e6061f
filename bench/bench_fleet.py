"""A fleet from the store (issue 15 item 4), this tree beside another checkout, one run:

  - `check --store S --connector c001` and `check --store S --all`, whole processes, best
    of 3, and their ratio (goal: `--all` of 40 connectors ≤ 4× one);
  - `serve --store S`: the first `/index.json` after the server answers (goal ≤ 1× a
    `check --all`), then the first `/c/c002` of that version (goal ≤ 0.5× a
    `check --connector`), then the first JSON twin of another connector page,
    `/c/c003.json` (the same figures, without the eight charts of the HTML page).

The store (40 connectors × 60 days, 2,000 requests a day each at the end, about 2.9M
requests) is simulated and ingested once into bench/data/fleet/ and reused.

    python bench/bench_fleet.py [--old /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "tests"))
sys.path.insert(0, str(HERE / "bench"))

from bench_dashboard import timed_get  # noqa: E402
from dashboard_support import Server  # noqa: E402

NAMES = [f"c{i:03d}" for i in range(1, 41)]


def cli(*words: str) -> list[str]:
    """The command line of this interpreter; the tree comes from PYTHONPATH (`env_for`)."""
    return [sys.executable, "-m", "connector_ga.cli", *words]


def env_for(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree / "src")}


def fleet_store() -> Path:
    folder = HERE / "bench" / "data" / "fleet"
    store = folder / "store.duckdb"
    if not store.exists():
        folder.mkdir(parents=True, exist_ok=True)
        sim = folder / "fleet.parquet"
        words = ["simulate", "--out", str(sim), "--days", "60", "--requests-per-day", "2000"]
        subprocess.run(
            cli(*words, *[a for n in NAMES for a in ("--connector", n)]),
            env=env_for(HERE), check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(cli("ingest", "--store", str(store), str(sim)), env=env_for(HERE),
                       check=True, capture_output=True)  # fmt: skip
    return store


def best_check(tree: Path, store: Path, *words: str, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            cli("check", "--store", str(store), *words, "--json", os.devnull),
            env=env_for(tree), capture_output=True,
        )  # fmt: skip
        times.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):  # 1: not ready, a verdict
            raise SystemExit(f"{tree}: check {' '.join(words)} failed: {done.stderr[-500:]}")
    return min(times)


def first_answers(tree: Path, store: Path, paths: list[str]) -> list[float]:
    """The time of each page asked in turn of a server just started."""
    with Server("--store", str(store), env={"PYTHONPATH": str(tree / "src")}) as s:
        return [timed_get(s.url + path) for path in paths]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, default=Path("/work/main"))
    args = parser.parse_args()
    store = fleet_store()
    print(f"load average: {os.getloadavg()[0]:.2f}; store {store}")
    rows = {}
    for label, tree in (("old", args.old), ("new", HERE)):
        one = best_check(tree, store, "--connector", "c001")
        every = best_check(tree, store, "--all")
        index, page, twin = first_answers(tree, store, ["/index.json", "/c/c002", "/c/c003.json"])
        rows[label] = (one, every, index, page, twin)
    print(f"{'':34}{'old':>10}{'new':>10}")
    names = ["check --connector c001, s", "check --all (40), s", "first /index.json, s",
             "first /c/c002, s", "then first /c/c003.json, s"]  # fmt: skip
    for k, name in enumerate(names):
        print(f"{name:34}{rows['old'][k]:>10.2f}{rows['new'][k]:>10.2f}")
    for name, goal, f in (
        ("--all ÷ one connector", "≤ 4", lambda r: r[1] / r[0]),
        ("first /index.json ÷ --all", "≤ 1", lambda r: r[2] / r[1]),
        ("first connector page ÷ one", "≤ 0.5", lambda r: r[3] / r[0]),
        ("its JSON twin (another) ÷ one", "≤ 0.5", lambda r: r[4] / r[0]),
    ):
        print(f"{name:34}{f(rows['old']):>9.2f}×{f(rows['new']):>9.2f}×   (goal {goal}×)")
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
