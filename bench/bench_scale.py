"""A check from the store grows with days × connections, not requests (DESIGN.md,
"Performance"): `check --store` of 2M and of 20M requests over the same 120 days and 1,000
connections, and the 20M check in place beside its store. Whole processes, best of
--repeat; the files and stores are kept in bench/data/scale/ and reused.

Goals: from the 20M store ÷ from the 2M store ≤ 1.25×; from the store ÷ in place (20M)
≤ 0.10.

    python bench/bench_scale.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_check import timed  # noqa: E402

CLI = [sys.executable, "-m", "connector_ga.cli"]
DATA = Path(__file__).parent / "data" / "scale"


def store_of(rows: int) -> tuple[Path, Path]:
    """The simulated file of `rows` requests and its store, made once."""
    DATA.mkdir(parents=True, exist_ok=True)
    sim, store = DATA / f"requests-{rows}.parquet", DATA / f"store-{rows}.duckdb"
    if not sim.exists():
        subprocess.run(
            [*CLI, "simulate", "--out", str(sim), "--rows", str(rows), "--days", "120",
             "--connections", "1000", "--users", "4000", "--seed", "3"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    if not store.exists():
        subprocess.run([*CLI, "ingest", "--store", str(store), str(sim)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return sim, store


def best(argv: list[str], repeat: int) -> tuple[float, float]:
    runs = [timed(argv) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    (_, small), (big_file, big) = store_of(2_000_000), store_of(20_000_000)
    print(f"load average {os.getloadavg()[0]:.2f}")
    out = ["--json", os.devnull]
    s2, m2 = best([*CLI, "check", "--store", str(small), *out], args.repeat)
    s20, m20 = best([*CLI, "check", "--store", str(big), *out], args.repeat)
    inplace, mi = best([*CLI, "check", "-t", str(big_file), *out], args.repeat)
    print(f"{'check --store, 2M requests':<34}{s2:7.2f} s {m2:7.0f} MiB")
    print(f"{'check --store, 20M requests':<34}{s20:7.2f} s {m20:7.0f} MiB")
    print(f"{'check in place, 20M requests':<34}{inplace:7.2f} s {mi:7.0f} MiB")
    print(f"20M store ÷ 2M store  {s20 / s2:.2f}×   (goal ≤ 1.25×)")
    print(f"20M store ÷ in place  {s20 / inplace:.2f}    (goal ≤ 0.10)")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
