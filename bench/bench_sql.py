"""`check` in place against a hand-written DuckDB SQL of every metric (issue 15; DESIGN.md
"Performance": a check is to be faster than it).

The SQL is written from DESIGN.md alone, as a publisher would write it for one connector
as of D (the latest request's UTC day): the input's quality (rows, rejects, repeated
request ids, deduplicated when there are any), fault attribution, requests, throttled,
eligible, connector faults, success rate and availability over [D−29, D], the SLO's
connections and those meeting the bar, users in each of the last three complete ISO weeks,
and MAC(d) for d in [D−29, D] with its minimum. It runs as a whole process (`python -c`,
DuckDB only), beside `connector-ga check -t FILE --json` (forecast and fix plan included),
best of --repeat each; both print their figures, so the two are also compared.

    python bench/bench_sql.py [--rows 10000000] [--repeat 3]

The file is bench_check.py's (bench/data/requests-N.parquet), simulated when missing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_check import ensure_data  # noqa: E402

THROTTLED = "('RateLimitExceeded', 'QuotaExceeded')"
CLIENT = (
    "('SubscriptionKeyNotFound', 'SubscriptionKeyInvalid', 'ClientConnectionFailure', "
    "'CallerIpNotAllowed', 'OperationNotFound', 'Unauthorized')"
)

SQL = f"""
import json, sys, duckdb
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
f = sys.argv[1]
con.execute(f"CREATE VIEW src AS SELECT * FROM read_parquet('{{f}}')")
quality = con.execute(\"\"\"SELECT count(*),
    count(*) FILTER (WHERE time IS NULL OR status NOT BETWEEN 100 AND 599),
    count(request_id) FILTER (WHERE time IS NOT NULL AND status BETWEEN 100 AND 599),
    count(DISTINCT (connector, request_id))
        FILTER (WHERE time IS NOT NULL AND status BETWEEN 100 AND 599)
    FROM src\"\"\").fetchall()[0]
rows, rejected, with_id, distinct_ids = quality
accepted = "time IS NOT NULL AND status BETWEEN 100 AND 599"
if with_id != distinct_ids:  # repeated ids: the first of each counts
    kept = (f"SELECT * FROM src WHERE {{accepted}} QUALIFY request_id IS NULL OR "
            "row_number() OVER (PARTITION BY connector, request_id ORDER BY time) = 1")
else:
    kept = f"SELECT * FROM src WHERE {{accepted}}"
con.execute(f\"\"\"CREATE VIEW a AS SELECT connector, connection_id, user_id, status,
    coalesce(weight, 1) AS weight, CAST(time AS DATE) AS day,
    CASE WHEN fault IS NOT NULL THEN fault
         WHEN status = 429 OR error_reason IN {THROTTLED} THEN 'throttled'
         WHEN status BETWEEN 100 AND 399 THEN 'none'
         WHEN backend_status >= 500 THEN 'backend'
         WHEN backend_status >= 400 THEN 'client'
         WHEN backend_status < 400 THEN 'connector'
         WHEN error_reason IN ('BackendConnectionFailure', 'Timeout')
              OR error_source = 'forward-request' THEN 'backend'
         WHEN error_reason IN {CLIENT} THEN 'client'
         WHEN status BETWEEN 400 AND 499 THEN 'client'
         ELSE 'connector' END AS fault
    FROM ({{kept}})\"\"\")
first, d = con.execute("SELECT min(day), max(day) FROM a").fetchall()[0]
window = f"day BETWEEN DATE '{{d}}' - 29 AND DATE '{{d}}'"
totals = con.execute(f\"\"\"SELECT sum(weight), sum(weight) FILTER (WHERE fault = 'throttled'),
    sum(weight) FILTER (WHERE fault = 'connector'),
    sum(weight) FILTER (WHERE fault <> 'throttled' AND status < 400)
    FROM a WHERE {{window}}\"\"\").fetchall()[0]
requests, throttled, faults, successes = (int(x or 0) for x in totals)
eligible = requests - throttled
slo = con.execute(f\"\"\"SELECT count(*) FILTER (WHERE e >= 1),
    count(*) FILTER (WHERE e >= 1 AND (e - f) * 10000 >= e * 9995) FROM (
    SELECT connection_id, sum(weight) FILTER (WHERE fault <> 'throttled') AS e,
           coalesce(sum(weight) FILTER (WHERE fault = 'connector'), 0) AS f
    FROM a WHERE {{window}} AND connection_id IS NOT NULL GROUP BY 1)\"\"\").fetchall()[0]
last_monday = f"DATE_TRUNC('week', DATE '{{d}}' + 1) - INTERVAL 7 DAY"  # its Sunday <= D
weeks = con.execute(f\"\"\"SELECT CAST(DATE_TRUNC('week', day) AS DATE) AS w,
    count(DISTINCT user_id) FROM a
    WHERE day >= {{last_monday}} - INTERVAL 14 DAY AND day < {{last_monday}} + INTERVAL 7 DAY
    GROUP BY 1 ORDER BY 1\"\"\").fetchall()
mac = con.execute(f\"\"\"WITH pairs AS (SELECT DISTINCT connection_id, day FROM a
        WHERE connection_id IS NOT NULL AND day >= DATE '{{d}}' - 58),
    days AS (SELECT CAST(x AS DATE) AS x FROM range(DATE '{{d}}' - 29, DATE '{{d}}' + 1,
        INTERVAL 1 DAY) t(x))
    SELECT x, count(DISTINCT connection_id) FROM days JOIN pairs
        ON pairs.day BETWEEN days.x - 29 AND days.x GROUP BY 1 ORDER BY 1\"\"\").fetchall()
full = [n for x, n in mac if (x - first).days >= 29]
print(json.dumps({{
    "rows": rows, "rejected": rejected, "duplicates": with_id - distinct_ids,
    "requests": requests, "eligible": eligible, "throttled": throttled,
    "connector_faults": faults, "successes": successes,
    "availability": 1 - faults / eligible if eligible else None,
    "success_rate": successes / eligible if eligible else None,
    "connections": slo[0], "connections_meeting_bar": slo[1],
    "wau": [n for _, n in weeks], "mac_min": min(full) if full else mac[-1][1],
}}))
"""


def best(argv: list[str], repeat: int) -> tuple[float, str]:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, cwd=tempfile.gettempdir())
        runs.append(time.perf_counter() - started)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{argv[:4]} failed: {done.stderr[-800:]}")
    return min(runs), done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--data", default=str(Path(__file__).parent / "data"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = ensure_data(args.rows, Path(args.data))
    print(f"load average {os.getloadavg()[0]:.2f}; {args.rows:,} requests in {path.name}")
    sql_s, sql_out = best([sys.executable, "-c", SQL, str(path)], args.repeat)
    check_s, check_out = best(
        [sys.executable, "-m", "connector_ga.cli", "check", "-t", str(path), "--json", "-"],
        args.repeat,
    )
    hand = json.loads(sql_out)
    m = json.loads(check_out)["metrics"]
    print(f"{'hand-written SQL':<20}{sql_s:8.2f} s")
    print(f"{'check':<20}{check_s:8.2f} s   ÷ SQL {check_s / sql_s:.2f}×   (goal < 1×)")
    print("hand-written SQL:", json.dumps(hand))
    theirs = {k: m[k] for k in hand if k in m}
    theirs.update(
        rows=json.loads(check_out)["data_quality"].get("rows"),
        connector_faults=m["faults"]["connector"],
        wau=[w["users"] for w in m["wau"]],
        mac_min=m["mac"]["min"],
    )
    print("check:           ", json.dumps(theirs))
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
