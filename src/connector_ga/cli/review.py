"""`connector-ga review`: the receiving side of GA requests, a thin command over
`review.review_requests`; the table lives in `outputs.review_terminal`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import (
    EXIT_NOT_READY,
    EXIT_READY,
    FormatOpt,
    RejectOpt,
    TelemetryOpt,
    Terminal,
    check_reject_rate,
    user_errors,
    working,
    write_stdout,
)


@user_errors
def review(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="EMAIL…",
            help="Request emails: .eml files, folders of them, or mbox files.",
        ),
    ],
    telemetry: TelemetryOpt = None,
    fmt: FormatOpt = None,
    policies: Annotated[
        list[Path] | None,
        typer.Option(
            "--policy",
            metavar="FILE",
            help="A policy TOML a request may name, besides power-platform-ga (repeatable).",
        ),
    ] = None,
    json_out: Annotated[
        str | None,
        typer.Option("--json", metavar="FILE", help="Write connector-ga/review/v1 ('-': stdout)."),
    ] = None,
    max_reject_rate: RejectOpt = None,
) -> None:
    """Check GA requests written by `connector-ga request`: attachments, their SHA-256, the
    result's schema and policy, and that the verdict follows from the figures; with
    --telemetry, each criterion claimed against your own measurement.

    Exit 0 when every request passes every check, 1 when one fails a check, 2 on bad input.
    """
    from ..outputs.json_result import write_atomic
    from ..outputs.review_terminal import render
    from ..review import dumps, review_requests

    check_reject_rate(max_reject_rate)
    with working("reviewing the requests"):
        reviews = review_requests(
            paths,
            policies=policies or (),
            telemetry=telemetry,
            fmt=fmt,
            max_reject_rate=max_reject_rate,
        )
    if json_out == "-":
        write_stdout(dumps(reviews))
    else:
        render(reviews, Terminal(highlight=False))
        if json_out:
            write_atomic(json_out, dumps(reviews))
    ok = all(r.ok for r in reviews)
    raise typer.Exit(EXIT_READY if ok else EXIT_NOT_READY)
