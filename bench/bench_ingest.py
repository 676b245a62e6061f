"""Ingest rate (issue 15 item 6): one telemetry file into an empty store, a whole
`connector-ga ingest` process each, this tree beside another checkout, best of N.

Goal: ≥ 1M rows/s on 2 cores for a 10M-row file, memory following the new rows.

    python bench/bench_ingest.py FILE [--old /work/main] [--runs 1] [--onto STORE]

`--onto` ingests into a copy of STORE (at 100M stored: bench_store.py's bench.duckdb and a
file of a connector it does not hold).

Measure only on a quiet machine: the load average is printed first, and a run above 2.5
says so on its last line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent.parent


def ingest_once(tree: Path, telemetry: Path, onto: Path | None = None) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one ingest of `telemetry` into a fresh store, or into a
    copy of the store `onto` (its rollups copied, its segment files linked: an ingest adds
    segment files and never changes one)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=onto.parent if onto else None))
    try:
        if onto is not None:
            shutil.copyfile(onto, folder / "store.duckdb")
            segments = onto.with_name(onto.name + ".segments")
            subprocess.run(["cp", "-al", str(segments), str(folder / "store.duckdb.segments")],
                           check=True)  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(tree / "src"), "XDG_CONFIG_HOME": str(folder)}
        argv = [sys.executable, "-m", "connector_ga.cli", "ingest", str(telemetry)]
        argv += ["--store", str(folder / "store.duckdb")]
        start = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=folder, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        if status != 0:
            raise SystemExit(f"ingest failed in {tree} (status {status})")
        return seconds, usage.ru_maxrss / 1024
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("telemetry", type=Path)
    parser.add_argument("--old", type=Path, default=Path("/work/main"))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--onto", type=Path, help="a store to copy and ingest into")
    args = parser.parse_args()
    args.telemetry = args.telemetry.resolve()  # each ingest runs in its own folder
    args.onto = args.onto.resolve() if args.onto else None
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{args.telemetry}')").fetchall()[0][0]
    load = os.getloadavg()[0]
    print(f"load average {load:.2f}; {rows:,} rows in {args.telemetry.name}")
    if args.onto is not None:
        stored = (
            duckdb.connect(str(args.onto), read_only=True)
            .sql("SELECT sum(rows) FROM spans")
            .fetchall()[0][0]
        )
        print(f"into a copy of {args.onto} ({stored:,} requests stored)")
    print(f"{'tree':<5}{'seconds':>9}{'rows/s':>12}{'peak MiB':>10}")
    for name, tree in (("old", args.old), ("new", HERE)):
        seconds, rss = min(ingest_once(tree, args.telemetry, args.onto) for _ in range(args.runs))
        print(f"{name:<5}{seconds:>9.2f}{rows / seconds:>12,.0f}{rss:>10.0f}")
    if max(load, os.getloadavg()[0]) > 2.5:
        print("the machine was busy (load > 2.5): these figures are not the machine's")


if __name__ == "__main__":
    main()
