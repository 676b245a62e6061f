"""Start-up time of the command line (issue 15 item 5): `--version`, `--help` and
`check --help`, best of 5 whole processes, this tree against another (default /work/main).

Byte code is cached in a temporary folder (as an installed package has it), warmed once;
`--no-bytecode` measures with PYTHONDONTWRITEBYTECODE=1 (every module compiled each run).

    python bench/bench_startup.py [--old /path/to/other/checkout] [--no-bytecode]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
COMMANDS = [["--version"], ["--help"], ["check", "--help"]]


def best_of(tree: Path, words: list[str], env: dict[str, str], runs: int = 5) -> float:
    env = {**env, "PYTHONPATH": str(tree / "src"), "COLUMNS": "100"}
    times = []
    for _ in range(runs + 1):  # the first run warms the byte-code cache
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "connector_ga.cli", *words],
            env=env,
            cwd=tempfile.gettempdir(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        times.append(time.perf_counter() - start)
    return min(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, default=Path("/work/main"))
    parser.add_argument("--no-bytecode", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env["PYTHONPYCACHEPREFIX"] = cache
        print(f"load average: {os.getloadavg()[0]:.2f}")
        print(f"{'command':<16}{'old s':>8}{'new s':>8}")
        for words in COMMANDS:
            old = best_of(args.old, words, env)
            new = best_of(HERE, words, env)
            print(f"{' '.join(words):<16}{old:>8.3f}{new:>8.3f}")


if __name__ == "__main__":
    main()
