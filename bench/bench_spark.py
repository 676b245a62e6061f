"""DuckDB, Spark local[2] and a two-worker standalone Spark cluster on the same export.

The 10M-request file of bench_check.py is ingested into a store and exported
(`store export`); then `check -t EXPORT` runs as a whole process on each engine, best of
--repeat, beside what each Spark mode costs before it reads anything (a session and one
trivial job: the JVMs, and on the cluster the executors) and a bare Spark scan of the
exported requests (every partition), to say what dominates the ratio.
The cluster is the tests' (tests/spark_cluster.py): a master and two one-core workers on
127.0.0.1, from PySpark's own jars.
Also a session that reads one rollup (the daily one) as Arrow: the floor of a check of an
export on Spark, whose rollups come back as Arrow and are judged locally.
Usage: python bench/bench_spark.py [--rows 10000000] [--data bench/data] [--repeat 3]
       [--local-only]
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

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from bench_check import ensure_data  # noqa: E402
from spark_cluster import spark_cluster  # noqa: E402

CLI = [sys.executable, "-m", "connector_ga.cli"]
SESSION = """
from connector_ga import engine
engine.connect(engine="spark")._session.range(1).count()
"""
ONE_ROLLUP = """
import sys
from connector_ga import engine
session = engine.connect(engine="spark")._session
session.read.parquet(sys.argv[1] + "/daily").toArrow()
"""
SCAN = """
import sys
from connector_ga import engine
session = engine.connect(engine="spark")._session
session.read.parquet(sys.argv[1] + "/requests").selectExpr(
    "count(*)", "count(DISTINCT connection_id)", "count(DISTINCT user_id)"
).collect()
"""


def seconds(argv: list[str], env: dict[str, str] | None, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(argv[:6])}… failed: {done.stderr[-2000:]}")
        best = min(best, time.perf_counter() - start)
    return best


def ensure_export(rows: int, folder: Path) -> Path:
    lake = folder / f"lake-{rows}"
    if not (lake / "manifest.json").exists():
        source = ensure_data(rows, folder)
        work = folder / f"store-{rows}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        store = str(work / "s.duckdb")
        subprocess.run([*CLI, "ingest", str(source), "--store", store], check=True)
        subprocess.run([*CLI, "store", "export", str(lake), "--store", store], check=True)
    return lake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--local-only", action="store_true", help="no standalone cluster")
    args = parser.parse_args()
    lake = str(ensure_export(args.rows, args.data).resolve())
    local = {**os.environ, "SPARK_MASTER": "local[2]"}
    local.pop("SPARK_REMOTE", None)
    check = [*CLI, "check", "-t", lake]
    figures: dict[str, tuple[float, ...]] = {}
    duck = seconds(check, None, args.repeat)
    figures["duckdb"] = (duck, 0.0, 0.0, 0.0)
    spark = [*check, "--engine", "spark"]

    def spark_figures(env: dict[str, str]) -> tuple[float, ...]:
        return (
            seconds(spark, env, args.repeat),
            seconds([sys.executable, "-c", SESSION], env, args.repeat),
            seconds([sys.executable, "-c", ONE_ROLLUP, lake], env, args.repeat),
            seconds([sys.executable, "-c", SCAN, lake], env, args.repeat),
        )

    figures["spark local[2]"] = spark_figures(local)
    if not args.local_only:
        with tempfile.TemporaryDirectory() as scratch:
            with spark_cluster(Path(scratch), connect=False) as c:
                figures["spark cluster 2×1 core"] = spark_figures(c.env())
    print(f"check -t <export of {args.rows:,} requests>, whole process, best of {args.repeat}")
    print(
        f"{'engine':>24} {'check s':>8} {'× duckdb':>9} {'session s':>10} {'rollup s':>9} "
        f"{'÷ rollup':>9} {'scan s':>7}"
    )
    for name, (total, session, rollup, scan) in figures.items():
        nan = float("nan")
        print(
            f"{name:>24} {total:8.2f} {total / duck:9.2f} {session or nan:10.2f} "
            f"{rollup or nan:9.2f} {total / rollup if rollup else nan:9.2f} {scan or nan:7.2f}"
        )
    print(
        "session: start-up and one trivial job; rollup: a session reading the daily rollup "
        "as Arrow (the goal: check ÷ rollup ≤ 1.3); scan: a session counting every request"
    )


if __name__ == "__main__":
    main()
