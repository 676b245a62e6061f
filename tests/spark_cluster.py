"""A real Spark cluster on 127.0.0.1 for the tests: a standalone master with two workers
(one core each), and a Spark Connect server, started from the PySpark package's own jars.

Each daemon is the JVM that Spark's own scripts would start (the command comes from
Spark's launcher, as `bin/spark-class` gets it), in its own process group, logging to a
file under the cluster's folder. `stop()` ends them all, the executors the workers
started included: SIGTERM to each group, SIGKILL after a grace period.

Checks run as `python -m connector_ga.cli` subprocesses (`run_cli`): `--engine spark` keeps
one Spark session per process, so each master or remote needs a process of its own.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
WORKERS = 2
START_DEADLINE = 90.0  # seconds for the master and its workers, or the Connect server
STOP_GRACE = 15.0  # seconds between SIGTERM and SIGKILL
LOG_TAIL = 40  # lines of a daemon's log shown when it does not come up


class ClusterError(RuntimeError):
    """A daemon did not start in time; the message ends with its log's last lines."""


def pyspark_home() -> Path:
    """The installed PySpark package: Spark's jars/ and bin/ are inside it."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise ClusterError("pyspark is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    return os.path.join(home, "bin", "java") if home else "java"


def free_port() -> int:
    """A TCP port nothing listens on now (the OS's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
        return True
    return False


@dataclass
class Daemon:
    name: str
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = LOG_TAIL) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class SparkCluster:
    """A standalone master with its workers, and optionally a Spark Connect server."""

    root: Path
    master_url: str = ""  # spark://127.0.0.1:PORT
    web_url: str = ""  # the master's web UI, whose /json/ says which workers are alive
    connect_url: str | None = None  # sc://127.0.0.1:PORT
    daemons: list[Daemon] = field(default_factory=list)

    # ---- starting ---------------------------------------------------------------------

    def start(self, workers: int = WORKERS, deadline: float = START_DEADLINE) -> SparkCluster:
        port, web = free_port(), free_port()
        self.master_url, self.web_url = f"spark://{HOST}:{port}", f"http://{HOST}:{web}"
        self._daemon(
            "master",
            "org.apache.spark.deploy.master.Master",
            ["--host", HOST, "--port", str(port), "--webui-port", str(web)],
        )
        for k in range(1, workers + 1):
            work = self.root / f"worker-{k}"
            work.mkdir(parents=True, exist_ok=True)
            self._daemon(
                f"worker-{k}",
                "org.apache.spark.deploy.worker.Worker",
                [
                    self.master_url,
                    *("--host", HOST, "--cores", "1", "--memory", "1g"),
                    *("--webui-port", str(free_port()), "--work-dir", str(work)),
                ],
            )
        self._wait(lambda: self.alive_workers() >= workers, deadline, f"{workers} ALIVE workers")
        return self

    def start_connect(
        self, master: str = "local[2]", deadline: float = START_DEADLINE
    ) -> SparkCluster:
        """A Spark Connect server whose own master is `master`. local[2] by default: a
        long-lived application on the standalone cluster would hold its cores, and every
        other application there would wait for them."""
        port = free_port()
        self._daemon(
            "connect",
            "org.apache.spark.deploy.SparkSubmit",
            [
                *("--master", master, "--name", "connector-ga tests: Spark Connect"),
                *("--conf", f"spark.connect.grpc.binding.address={HOST}"),
                *("--conf", f"spark.connect.grpc.binding.port={port}"),
                *("--conf", "spark.ui.enabled=false"),
                *("--conf", f"spark.pyspark.python={sys.executable}"),
                *("--class", "org.apache.spark.sql.connect.service.SparkConnectServer"),
            ],
        )
        self._wait(lambda: port_open(port), deadline, f"the Connect server on port {port}")
        self.connect_url = f"sc://{HOST}:{port}"
        return self

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("SPARK_MASTER", "SPARK_REMOTE", "PYSPARK_SUBMIT_ARGS", "SPARK_CONF_DIR"):
            env.pop(name, None)
        conf = self.root / "conf"  # empty: Spark's defaults, not a machine's spark-defaults
        conf.mkdir(parents=True, exist_ok=True)
        env |= {
            "SPARK_HOME": str(pyspark_home()),
            "SPARK_SCALA_VERSION": "2.13",  # what bin/load-spark-env.sh sets for the launcher
            "SPARK_CONF_DIR": str(conf),
            "SPARK_LOCAL_IP": HOST,
            "SPARK_LOG_DIR": str(self.root / "logs"),
            "SPARK_DAEMON_MEMORY": "512m",
            # Executors run Python with the interpreter of the tests (the venv's PySpark).
            "PYSPARK_PYTHON": sys.executable,
        }
        return env

    def _command(self, main_class: str, args: Sequence[str], env: dict[str, str]) -> list[str]:
        """The JVM command line Spark's launcher builds for a class: the classpath (conf
        folder and jars), the JVM options Java 17 needs, the daemon memory."""
        jars = os.path.join(env["SPARK_HOME"], "jars", "*")
        launcher = [java(), "-Xmx128m", "-cp", jars, "org.apache.spark.launcher.Main"]
        out = subprocess.run(
            [*launcher, main_class, *args], env=env, capture_output=True, timeout=60, check=False
        )
        if out.returncode != 0 or b"\0\n" not in out.stdout:
            raise ClusterError(
                f"Spark's launcher failed for {main_class}: "
                + out.stderr.decode(errors="replace")[-2000:]
            )
        # The launcher prints NUL then newline, then each argument followed by NUL.
        return [a.decode() for a in out.stdout.split(b"\0\n", 1)[1].split(b"\0")[:-1]]

    def _daemon(self, name: str, main_class: str, args: Sequence[str]) -> Daemon:
        env = self._env()
        logs = Path(env["SPARK_LOG_DIR"])
        logs.mkdir(parents=True, exist_ok=True)
        command = self._command(main_class, args, env)
        log = logs / f"{name}.log"
        with open(log, "wb") as handle:
            process = subprocess.Popen(
                command,
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: executors included
            )
        daemon = Daemon(name, process, log)
        self.daemons.append(daemon)
        return daemon

    def _wait(self, ready, deadline: float, what: str) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            dead = [d for d in self.daemons if not d.alive()]
            if dead:
                raise ClusterError(self._report(f"{dead[0].name} exited while waiting for {what}"))
            if ready():
                return
            time.sleep(0.5)
        raise ClusterError(self._report(f"no {what} after {deadline:.0f} s"))

    def _report(self, problem: str) -> str:
        tails = "\n".join(f"--- {d.name} ({d.log}):\n{d.tail()}" for d in self.daemons)
        return f"Spark cluster: {problem}\n{tails}"

    # ---- state --------------------------------------------------------------------------

    def master_state(self) -> dict:
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=2) as response:
            return json.load(response)

    def alive_workers(self) -> int:
        try:
            state = self.master_state()
        except (OSError, ValueError):  # not listening yet, or half-written JSON
            return 0
        return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")

    # ---- using it -----------------------------------------------------------------------

    def env(self, *, connect: bool = False) -> dict[str, str]:
        """The environment of a process whose `--engine spark` runs on this cluster (or,
        with connect=True, through its Spark Connect server)."""
        env = dict(os.environ)
        for name in ("SPARK_MASTER", "SPARK_REMOTE", "PYSPARK_SUBMIT_ARGS", "SPARK_HOME"):
            env.pop(name, None)
        if connect:
            if self.connect_url is None:
                raise ClusterError("no Spark Connect server: call start_connect() first")
            env["SPARK_REMOTE"] = self.connect_url
        else:
            env["SPARK_MASTER"] = self.master_url
        env["PYSPARK_PYTHON"] = sys.executable
        env["SPARK_LOCAL_IP"] = HOST
        return env

    def run_cli(
        self,
        *args: str,
        connect: bool = False,
        cwd: Path | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess:
        """`python -m connector_ga.cli ARGS --engine spark` on this cluster; text output."""
        return run_cli(*args, "--engine", "spark", env=self.env(connect=connect), cwd=cwd,
                       timeout=timeout)

    # ---- stopping -----------------------------------------------------------------------

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM to every daemon's process group (newest first: the Connect server and the
        workers before the master), then SIGKILL to whatever is left after `grace`."""
        for daemon in reversed(self.daemons):
            _signal_group(daemon.process, signal.SIGTERM)
        end = time.monotonic() + grace
        for daemon in reversed(self.daemons):
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.process.wait(timeout=max(0.1, end - time.monotonic()))
        for daemon in self.daemons:
            _signal_group(daemon.process, signal.SIGKILL)  # executors of a killed worker too
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.process.wait(timeout=5)
        self.daemons.clear()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)  # the group's id is the daemon's pid (its own session)


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """`python -m connector_ga.cli ARGS` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "connector_ga.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def spark_cluster(root: Path, *, connect: bool = True) -> Iterator[SparkCluster]:
    """A started cluster (and Connect server), stopped on the way out whatever happens."""
    cluster = SparkCluster(root)
    try:
        cluster.start()
        if connect:
            cluster.start_connect()
        yield cluster
    finally:
        cluster.stop()
