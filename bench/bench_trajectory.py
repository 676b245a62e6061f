"""Time `history --days 90` and `watch` against one `check` on the same telemetry.

Goals (issue "Readiness over time"): history over 90 days ≤ 2× one check (it is computed
from the daily aggregate in one pass, not one check per day); watch ≤ one check.
Each command is timed as a whole process (start-up and imports included), best of
--repeat runs, with its peak RSS.
Usage: python bench/bench_trajectory.py [--rows 10000000] [--data bench/data] [--repeat 3]
The simulated Parquet file is shared with bench_check.py (bench/data/requests-N.parquet).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_check import ensure_data, timed  # noqa: E402

CLI = [sys.executable, "-m", "connector_ga.cli"]


def best(argv: list[str], repeat: int) -> tuple[float, float]:
    runs = [timed(argv) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = str(ensure_data(args.rows, args.data))
    with tempfile.TemporaryDirectory() as scratch:
        store = str(Path(scratch) / "state.duckdb")  # watch keeps its episode state there
        commands = {
            "check": [*CLI, "check", "-t", path],
            "history --days 90": [*CLI, "history", "-t", path, "--days", "90"],
            "watch": [*CLI, "watch", "-t", path, "--store", store],
        }
        print(f"{args.rows:,} requests, best of {args.repeat}")
        print(f"{'command':>22} {'seconds':>8} {'× check':>8} {'peak MiB':>9}")
        baseline = None
        for name, argv in commands.items():
            seconds, rss = best(argv, args.repeat)
            baseline = baseline or seconds
            print(f"{name:>22} {seconds:8.2f} {seconds / baseline:8.2f} {rss:9.0f}")


if __name__ == "__main__":
    main()
