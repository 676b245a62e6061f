"""Time `connector-ga check` against a bare scan of the same columns by the same engine.

Both are timed as whole processes (start-up and imports included), with their peak RSS.
Usage: python bench/bench_check.py [--sizes 1000000,10000000] [--data bench/data]
       [--engine duckdb|spark]
With --engine spark, both start a local Spark session (the JVM's memory is not in the
Python process's peak RSS shown).
The simulated Parquet files are kept in --data and reused by later runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BARE_SCAN = """
import duckdb, sys
duckdb.sql(
    "SELECT count(*), count(DISTINCT connection_id), count(DISTINCT user_id), "
    "count(DISTINCT request_id) FROM read_parquet('" + sys.argv[1] + "')"
).fetchall()
"""

BARE_SPARK_SCAN = """
import sys
from connector_ga import engine
session = engine.connect(engine="spark")._session
session.read.parquet(sys.argv[1]).selectExpr(
    "count(*)", "count(DISTINCT connection_id)", "count(DISTINCT user_id)",
    "count(DISTINCT request_id)",
).collect()
"""


def timed(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        sys.stderr.write(process.stderr.read().decode())
        raise SystemExit(f"{argv[0]} failed with exit code {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024, process.returncode


def ensure_data(rows: int, folder: Path) -> Path:
    path = folder / f"requests-{rows}.parquet"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "connector_ga.cli",
                "simulate",
                "--out",
                str(path),
                "--rows",
                str(rows),
                "--days",
                "90",
                "--connections",
                str(max(300, rows // 20000)),
                "--users",
                str(max(1200, rows // 5000)),
                "--seed",
                "1",
            ],
            check=True,
        )
        print(f"simulated {rows:,} rows in {time.perf_counter() - started:.1f} s -> {path}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--data", default=str(Path(__file__).parent / "data"))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'rows':>12} {'check s':>9} {'scan s':>8} {'ratio':>6} {'check MiB':>10} {'scan MiB':>9}"
    )
    for rows in sizes:
        path = ensure_data(rows, Path(args.data))
        check_argv = [
            sys.executable,
            "-m",
            "connector_ga.cli",
            "check",
            "--telemetry",
            str(path),
            "--json",
            os.devnull,
            "--engine",
            args.engine,
        ]
        bare = BARE_SPARK_SCAN if args.engine == "spark" else BARE_SCAN
        scan_argv = [sys.executable, "-c", bare, str(path)]
        checks = [timed(check_argv) for _ in range(args.repeat)]
        scans = [timed(scan_argv) for _ in range(args.repeat)]
        check_s, check_mem = min(c[0] for c in checks), max(c[1] for c in checks)
        scan_s, scan_mem = min(s[0] for s in scans), max(s[1] for s in scans)
        print(
            f"{rows:>12,} {check_s:>9.2f} {scan_s:>8.2f} {check_s / scan_s:>6.2f} "
            f"{check_mem:>10.0f} {scan_mem:>9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
