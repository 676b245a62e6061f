"""The store at scale: ingest rate as it grows, a check from its rollups, an appended day.

Goals (issue "The store for many readers and a growing history"): ingest ≥ 1M rows/s on
2 cores and no slower at 100M stored requests than at 10M; `check` from a store of 100M
requests over 120 days ≤ 2 s as a whole process with peak RSS ≤ 500 MB; one more day
(1M rows) appended and checked again ≤ 3 s together.

The store is filled with --parts simulated files of --rows-per-part requests over 120
days, one connector each (c00, c01, …), and each ingest is timed as a whole process, so
the rate at 0 → 10M and at 90M → 100M stored are both printed. Every command is a whole
process (start-up and imports included) with its peak RSS.
Usage: python bench/bench_store.py [--parts 10] [--rows-per-part 10000000]
       [--data bench/data/store] [--repeat 3]
The simulated files are kept in --data and reused; the store is built anew each run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_check import timed  # noqa: E402

CLI = [sys.executable, "-m", "connector_ga.cli"]
DAYS = 120
END = dt.date(2026, 11, 20)


def simulate(path: Path, rows: int, connector: str, seed: int, days: int, end: dt.date) -> Path:
    if not path.exists():
        started = time.perf_counter()
        subprocess.run(
            [
                *CLI,
                *("simulate", "--out", str(path), "--rows", str(rows)),
                *("--days", str(days), "--end", end.isoformat(), "--connector", connector),
                *("--connections", str(max(300, rows // 20000)), "--seed", str(seed)),
                *("--users", str(max(1200, rows // 5000))),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"simulated {rows:,} rows in {time.perf_counter() - started:.1f} s -> {path}")
    return path


def best(argv: list[str], repeat: int) -> tuple[float, float]:
    runs = [timed(argv) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parts", type=int, default=10)
    parser.add_argument("--rows-per-part", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / "data" / "store")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    parts = [
        simulate(args.data / f"part-{k:02d}.parquet", args.rows_per_part, f"c{k:02d}", k, DAYS, END)
        for k in range(args.parts)
    ]
    extra_day = END + dt.timedelta(days=1)
    appended = simulate(args.data / "append-c00.parquet", 1_000_000, "c00", 0, 1, extra_day)
    store = args.data / "bench.duckdb"
    for old in (store, Path(f"{store}.segments"), Path(f"{store}.lock")):
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)

    print(f"{args.parts} × {args.rows_per_part:,} requests over {DAYS} days, one connector each")
    print(f"{'stored before':>14} {'ingest s':>9} {'rows/s':>10} {'peak MiB':>9}")
    for k, part in enumerate(parts):
        seconds, rss, _ = timed([*CLI, "ingest", str(part), "--store", str(store)])
        before = k * args.rows_per_part
        rate = args.rows_per_part / seconds
        print(f"{before:>14,} {seconds:9.2f} {rate:10,.0f} {rss:9.0f}", flush=True)

    total = args.parts * args.rows_per_part
    print(f"\nfrom the store of {total:,} requests, best of {args.repeat}")
    print(f"{'command':>34} {'seconds':>8} {'peak MiB':>9}")
    commands = {
        "check --connector c00": [*CLI, "check", "--store", str(store), "--connector", "c00"],
        "check --all": [*CLI, "check", "--store", str(store), "--all"],
        "history --days 90 --connector c00": [
            *(*CLI, "history", "--store", str(store), "--connector", "c00", "--days", "90"),
        ],
    }
    for name, argv in commands.items():
        seconds, rss = best(argv, args.repeat)
        print(f"{name:>34} {seconds:8.2f} {rss:9.0f}", flush=True)

    ingest_s, ingest_rss, _ = timed([*CLI, "ingest", str(appended), "--store", str(store)])
    check_s, check_rss, _ = timed(commands["check --connector c00"])
    print(
        f"\nappend one day (1,000,000 rows to c00) {ingest_s:.2f} s ({ingest_rss:.0f} MiB)"
        f" + check {check_s:.2f} s ({check_rss:.0f} MiB) = {ingest_s + check_s:.2f} s"
    )
    size = sum(p.stat().st_size for p in Path(f"{store}.segments").rglob("*") if p.is_file())
    print(f"store: {store.stat().st_size / 2**20:.0f} MiB rollups, {size / 2**20:.0f} MiB segments")


if __name__ == "__main__":
    main()
