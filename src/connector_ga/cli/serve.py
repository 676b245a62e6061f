"""`connector-ga serve` (the dashboard, live) and `connector-ga site` (the same pages as
static files)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Annotated

import typer

from ..errors import InputError
from ..locations import DEFAULT_STORE
from .common import ConfigOpt, PolicyOpt, err, load_config_here, user_errors, write_stdout

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="The store to show (default .connector-ga/store.duckdb)."),
]
ScenarioOpt = Annotated[
    str,
    typer.Option("--scenario", help="The forecast's assumption: no-new-faults, or recent-rate."),
]
HorizonOpt = Annotated[
    int, typer.Option("--horizon", metavar="DAYS", help="How far the forecast looks.")
]


def _options(store: Path | None, config: Path | None, policy, scenario: str, horizon: int):
    from ..dashboard import Options
    from ..dashboard.state import check_store
    from ..policy import load_policy
    from ..trajectory.forecast import SCENARIOS

    if scenario not in SCENARIOS:
        raise InputError(f"--scenario {scenario}: expected one of {', '.join(SCENARIOS)}")
    if horizon < 1:
        raise InputError(f"--horizon {horizon}: expected a number of days >= 1")
    load_policy(policy)  # a wrong policy file is one line now, not on the first page
    path = store or DEFAULT_STORE
    check_store(path)
    return Options(
        store=path,
        config=load_config_here(config),
        policy=policy,
        scenario=scenario,
        horizon=horizon,
    )


def _free(host: str, port: int) -> None:
    """Bind the address once ourselves, so a busy port is one line, not a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except socket.gaierror:
        raise InputError(f"--host {host}: not an address this machine can bind") from None
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(infos[0][4])
        except OSError as exc:
            why = "in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise InputError(f"{host}:{port}: cannot listen there ({why})") from None


@user_errors
def serve(
    store: StoreOpt = None,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on; another than 127.0.0.1 needs a token."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="CONNECTOR_GA_TOKEN",
            show_envvar=True,
            help="Every request must carry it (Authorization: Bearer, or sign in at /login).",
        ),
    ] = None,
    config: ConfigOpt = None,
    policy: PolicyOpt = None,
    scenario: ScenarioOpt = "no-new-faults",
    horizon: HorizonOpt = 180,
) -> None:
    """The dashboard: a read-only web app over the store, on http://127.0.0.1:8765."""
    from ..dashboard.auth import is_loopback

    token = token or None
    if not is_loopback(host) and not token:
        raise InputError(
            f"--host {host}: listening beyond this machine needs a token "
            "(--token TOKEN or CONNECTOR_GA_TOKEN)"
        )
    if not 0 < port < 65536:
        raise InputError(f"--port {port}: expected a port between 1 and 65535")
    options = _options(store, config, policy, scenario, horizon)
    _free(host, port)

    import uvicorn

    from ..dashboard import create_app

    def log(line: str) -> None:
        err.print(line, markup=False, highlight=False, soft_wrap=True)

    app = create_app(options, token=token, log=log, poll_seconds=1.0)
    shown = f"[{host}]" if ":" in host else host
    print(
        f"connector-ga dashboard on http://{shown}:{port}/ (store {options.store}; "
        f"{'token required; ' if token else ''}Ctrl-C stops it)",
        flush=True,
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    )
    server.run()
    if not server.started:
        raise InputError(f"{host}:{port}: the server could not start")
    err.print("stopped", markup=False)


@user_errors
def site(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the pages into.")],
    store: StoreOpt = None,
    config: ConfigOpt = None,
    policy: PolicyOpt = None,
    scenario: ScenarioOpt = "no-new-faults",
    horizon: HorizonOpt = 180,
) -> None:
    """The dashboard's pages as a static site (HTML + JSON twins, relative links)."""
    from rich.progress import Progress

    from ..dashboard import build_site

    options = _options(store, config, policy, scenario, horizon)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("computing the fleet", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, description="writing pages", completed=done, total=total)

        written = build_site(options, out, progress)
    pages = sum(1 for p in written if p.suffix == ".html")
    write_stdout(f"wrote {pages} pages and their JSON twins to {out}/ (open index.html)\n")
