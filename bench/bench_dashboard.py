"""Dashboard latency and throughput on a simulated fleet in a store.

Builds a store (`connector-ga simulate` with N connectors, then `ingest`), starts a real
`connector-ga serve` on 127.0.0.1, and prints:
  - fleet page (`/`) cold: the first request after the server starts and after each small
    ingest (a new store version: the fleet is judged again, forecast included);
  - connector page (`/c/ID`) cold: the first request of each of several connectors;
  - both cached: sequential requests of the same page, p50 / p95;
  - requests per second under load: C concurrent clients for S seconds, mixed pages.
Goal (issue 11): p95 ≤ 200 ms cached, cold ≤ 2 s.
Usage: python bench/bench_dashboard.py [--connectors 40] [--days 35]
       [--requests-per-day 2000] [--clients 8] [--seconds 10] [--horizon 180]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from dashboard_support import Server, get  # noqa: E402

CLI = [sys.executable, "-m", "connector_ga.cli"]


def timed_get(url: str) -> float:
    started = time.perf_counter()
    status, _, _ = get(url, timeout=600)
    assert status == 200, (url, status)
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def line(name: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(f"{name:<34} n={len(ms):<4} p50 {pct(ms, 0.5):9.1f} ms   p95 {pct(ms, 0.95):9.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connectors", type=int, default=40)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--requests-per-day", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--horizon", type=int, default=180)
    args = parser.parse_args()
    names = [f"c{i:03d}" for i in range(1, args.connectors + 1)]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        sim, store = folder / "fleet.parquet", folder / "store.duckdb"
        started = time.perf_counter()
        subprocess.run(
            [*CLI, "simulate", "--out", str(sim), "--days", str(args.days),
             "--requests-per-day", str(args.requests_per_day),
             *[a for n in names for a in ("--connector", n)]],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run([*CLI, "ingest", "--store", str(store), str(sim)], check=True,
                       capture_output=True)  # fmt: skip
        rows = sim.stat().st_size
        print(
            f"{args.connectors} connectors, {args.days} days, {args.requests_per_day:,} "
            f"requests/day each at the end (Parquet {rows / 1e6:.0f} MB), store built in "
            f"{time.perf_counter() - started:.0f} s; forecast horizon {args.horizon} days"
        )
        with Server("--store", str(store), "--horizon", str(args.horizon)) as s:
            fleet_cold = [timed_get(s.url + "/")]
            for k in range(2):  # a new version each time: the fleet is judged again
                late = folder / f"late-{k}.csv"
                late.write_text(f"time,status,connector\n2026-11-20T23:5{k}:00Z,200,{names[0]}\n")
                subprocess.run([*CLI, "ingest", "--store", str(store), str(late)], check=True,
                               capture_output=True)  # fmt: skip
                time.sleep(1.5)  # let the poller see the version (as a user's next click)
                fleet_cold.append(timed_get(s.url + "/"))
            line("fleet page, cold (new version)", fleet_cold)
            connector_cold = [timed_get(s.url + f"/c/{n}") for n in names[1:6]]
            line("connector page, cold", connector_cold)
            line("fleet page, cached", [timed_get(s.url + "/") for _ in range(100)])
            line(
                "connector page, cached", [timed_get(s.url + f"/c/{names[1]}") for _ in range(100)]
            )
            line("fleet JSON twin, cached", [timed_get(s.url + "/index.json") for _ in range(50)])
            pages = ["/", "/index.json", "/data", "/requests"]
            pages += [f"/c/{n}" for n in names[1:6]] + [f"/c/{n}/availability" for n in names[1:6]]
            for p in pages:
                timed_get(s.url + p)
            done, errors = [], []
            stop = time.monotonic() + args.seconds

            def client(k: int) -> None:
                i = k
                while time.monotonic() < stop:
                    try:
                        with urllib.request.urlopen(s.url + pages[i % len(pages)], timeout=60) as r:
                            r.read()
                        done.append(1)
                    except Exception as exc:  # counted, not hidden
                        errors.append(str(exc))
                    i += 1

            threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            print(
                f"load: {args.clients} clients x {args.seconds:.0f} s, mixed cached pages: "
                f"{len(done) / args.seconds:.0f} requests/s, {len(errors)} errors"
            )


if __name__ == "__main__":
    main()
