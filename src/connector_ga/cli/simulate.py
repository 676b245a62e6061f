"""`connector-ga simulate`: realistic telemetry in the canonical schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import err, parse_date, user_errors


@user_errors
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output .parquet, .csv or .jsonl.")],
    days: Annotated[int, typer.Option(help="Days of telemetry.")] = 90,
    end: Annotated[str | None, typer.Option(help="Last UTC day (default 2026-11-20).")] = None,
    connections: Annotated[int, typer.Option(help="Connections per connector at the end.")] = 300,
    users: Annotated[int, typer.Option(help="Users per connector at the end.")] = 1200,
    requests_per_day: Annotated[int, typer.Option(help="Requests per day at the end.")] = 20000,
    rows: Annotated[int | None, typer.Option(help="Total rows (overrides requests/day).")] = None,
    connector: Annotated[
        list[str] | None, typer.Option("--connector", help="Connector id (repeat for a fleet).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    sample_rate: Annotated[float, typer.Option(help="Keep this share of rows, weighted.")] = 1.0,
    duplicate_rate: Annotated[float, typer.Option(help="Share of rows logged twice.")] = 0.0,
    incident: Annotated[
        list[str] | None,
        typer.Option(
            "--incident",
            help="KIND@START/DURATION[:RATE], e.g. connector-bug@2026-11-10T08:00Z/6h "
            "(backend-outage, connector-bug, throttling-storm, unattributed-5xx).",
        ),
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="parquet, csv or jsonl.")] = None,
) -> None:
    """Write realistic simulated telemetry in the canonical schema."""
    from ..simulate import SimulationSpec, parse_incident
    from ..simulate import simulate as run

    spec = SimulationSpec(
        days=days,
        connections=connections,
        users=users,
        requests_per_day=requests_per_day,
        rows=rows,
        seed=seed,
        sample_rate=sample_rate,
        duplicate_rate=duplicate_rate,
        incidents=[parse_incident(text) for text in incident or []],
    )
    if end is not None:
        spec.end = parse_date(end, "--end")
    if connector:
        spec.connectors = list(connector)
    summary = run(spec, out, fmt)
    injected = ", ".join(f"{k} {v:,}" for k, v in summary.injected.items())
    err.print(
        f"wrote {summary.rows:,} requests for {', '.join(summary.connectors)} "
        f"({summary.first_day} – {summary.last_day}) to {out}"
        + (f"; injected: {injected}" if injected else "")
    )
