"""Time `check --horizon 365` ÷ `check --horizon 30` on the same file, old code vs new
side by side (issue 15 item 3; goal ≤ 1.15×: the forecast costs the days on which
something changes, not the horizon).

Each command is a whole process (start-up and imports included), best of --repeat runs;
old and new run in turn, so both see the same machine. `--old` and `--new` are the `src`
folders to put on PYTHONPATH (default: the main checkout and this worktree). Refuses to
run while the 1-minute load average is 2.5 or more (figures on a busy machine mislead),
unless --force.
Usage: python bench/horizon.py [--rows 10000000] [--repeat 3] [--old /work/main/src] [--new src]
The simulated Parquet file is shared with bench_check.py (bench/data/requests-N.parquet).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_check import ensure_data, timed  # noqa: E402

CLI = [sys.executable, "-m", "connector_ga.cli"]
HORIZONS = (30, 365)
MAX_LOAD = 2.5


def best(argv: list[str], src: Path, repeat: int) -> float:
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(src)
    try:
        return min(timed(argv)[0] for _ in range(repeat))
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--old", type=Path, default=Path("/work/main/src"))
    parser.add_argument("--new", type=Path, default=Path(__file__).parents[1] / "src")
    parser.add_argument("--force", action="store_true", help="run whatever the load")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    if load >= MAX_LOAD and not args.force:
        raise SystemExit(f"load average {load:.2f} ≥ {MAX_LOAD}: not benchmarking now")
    path = str(ensure_data(args.rows, args.data))
    seconds: dict[tuple[str, int], float] = {}
    for horizon in HORIZONS:
        argv = [*CLI, "check", "-t", path, "--horizon", str(horizon)]
        for label, src in (("old", args.old), ("new", args.new)):
            seconds[(label, horizon)] = best(argv, src.resolve(), args.repeat)
    print(f"{args.rows:,} requests, best of {args.repeat}, load {load:.2f}")
    print(f"{'':>16} {'old s':>8} {'new s':>8}")
    for horizon in HORIZONS:
        row = f"{'--horizon ' + str(horizon):>16}"
        print(row + f" {seconds[('old', horizon)]:8.2f} {seconds[('new', horizon)]:8.2f}")
    ratio = {label: seconds[(label, 365)] / seconds[(label, 30)] for label in ("old", "new")}
    print(f"{'365 ÷ 30':>16} {ratio['old']:7.2f}× {ratio['new']:7.2f}×   (goal ≤ 1.15×)")


if __name__ == "__main__":
    main()
