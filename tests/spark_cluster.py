"""A real Spark cluster on 127.0.0.1 for the tests: a standalone master with two workers
(one core each) and a Spark Connect server, started from the PySpark package's own jars.

Each daemon is the JVM that Spark's own scripts would start (Spark's launcher builds the
command, as `bin/spark-class` has it do), in a process group of its own, logging to a file
under the cluster's folder. `stop()` ends them all, the executors the workers started
included: SIGTERM (a worker then stops its executors), SIGKILL to what is left.

`--engine spark` keeps one Spark session per process, so each check runs in a process of
its own: `run_cli` (`python -m connector_ga.cli ARGS --engine spark`) or `run_python`, with
SPARK_MASTER (or SPARK_REMOTE) set to this cluster.
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
WORKERS = 2
START_DEADLINE = 90.0  # seconds for the master and its workers, or the Connect server
STOP_GRACE = 20.0  # seconds between SIGTERM and SIGKILL (a worker waits for its executors)
LOG_TAIL = 30  # lines of each daemon's log shown when the cluster does not come up
CONNECT_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
# Short-lived JVMs on a small machine: C1 alone and the serial collector start and warm up
# in about half the time of the default (C2 and G1 threads compete for the two cores).
JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
# The cluster's spark-defaults.conf, read by every application's spark-submit (a check's
# driver, the Connect server), as a cluster's administrators would write it: a few shuffle
# partitions for two cores, and no waiting for the executor that holds a cached block
# while the other one is free.
APPLICATION_DEFAULTS = {
    "spark.sql.shuffle.partitions": "4",
    "spark.locality.wait": "0s",
    "spark.ui.enabled": "false",
    "spark.driver.defaultJavaOptions": JVM_OPTIONS,  # extraJavaOptions are the driver's own
    "spark.executor.defaultJavaOptions": JVM_OPTIONS,
}


class ClusterError(RuntimeError):
    """A daemon did not start in time; the message ends with the daemons' last log lines."""


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
    """A TCP port nothing listens on now (the system's choice)."""
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
    """A standalone master with its workers, and a Spark Connect server, under `root`."""

    root: Path
    master_url: str = ""  # spark://127.0.0.1:PORT
    web_url: str = ""  # the master's web UI, whose /json/ lists the workers and their state
    connect_url: str = ""  # sc://127.0.0.1:PORT
    daemons: list[Daemon] = field(default_factory=list)

    @property
    def conf_dir(self) -> Path:
        """SPARK_CONF_DIR of the cluster's applications: spark-defaults.conf."""
        return self.root / "conf"

    # ---- starting ---------------------------------------------------------------------

    def start(
        self, workers: int = WORKERS, connect: bool = True, deadline: float = START_DEADLINE
    ) -> SparkCluster:
        """Start the master, then its workers; the Connect server meanwhile. Returns once
        the master reports every worker ALIVE and the Connect server takes connections."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.conf_dir.mkdir(exist_ok=True)
        defaults = "".join(f"{key} {value}\n" for key, value in APPLICATION_DEFAULTS.items())
        (self.conf_dir / "spark-defaults.conf").write_text(defaults, encoding="utf-8")
        master_port, web_port = free_port(), free_port()
        self.master_url = f"spark://{HOST}:{master_port}"
        self.web_url = f"http://{HOST}:{web_port}"
        self._daemon(
            "master",
            "org.apache.spark.deploy.master.Master",
            ["--host", HOST, "--port", str(master_port), "--webui-port", str(web_port)],
        )
        connect_port = free_port() if connect else None
        if connect_port is not None:
            self._start_connect(connect_port)
        # A worker that finds no master waits seconds before it tries again: start them
        # once the master listens.
        self._wait(lambda: port_open(master_port), deadline, "the master listening")
        for k in range(1, workers + 1):
            work = self.root / f"worker-{k}"
            work.mkdir(exist_ok=True)
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
        if connect_port is not None:
            self._wait(lambda: port_open(connect_port), deadline, "the Spark Connect server")
            self.connect_url = f"sc://{HOST}:{connect_port}"
        return self

    def _start_connect(self, port: int) -> None:
        """The Spark Connect server as start-connect-server.sh submits it, its own master
        local[2]: a long-lived application on the standalone cluster would hold the
        workers' cores, and every check submitted there would wait for them."""
        self._daemon(
            "connect",
            "org.apache.spark.deploy.SparkSubmit",
            [
                *("--master", "local[2]", "--name", "Spark Connect server"),
                *("--conf", f"spark.connect.grpc.binding.address={HOST}"),
                *("--conf", f"spark.connect.grpc.binding.port={port}"),
                *("--conf", f"spark.pyspark.python={sys.executable}"),
                *("--class", CONNECT_CLASS),
            ],
            conf_dir=self.conf_dir,
        )

    def _daemon(
        self, name: str, main_class: str, args: Sequence[str], conf_dir: Path | None = None
    ) -> Daemon:
        env = _clean_env()
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        # Master and workers read no spark-defaults: an empty folder, not the machine's.
        daemon_conf = self.root / "daemon-conf"
        daemon_conf.mkdir(exist_ok=True)
        env |= {
            "SPARK_HOME": str(pyspark_home()),
            "SPARK_SCALA_VERSION": "2.13",  # what bin/load-spark-env.sh tells the launcher
            "SPARK_CONF_DIR": str(conf_dir or daemon_conf),
            "SPARK_LOCAL_IP": HOST,
            "SPARK_LOG_DIR": str(logs),
            "SPARK_DAEMON_MEMORY": "512m",
            "SPARK_DAEMON_JAVA_OPTS": JVM_OPTIONS,
            # Executors and the Connect server run Python with the tests' interpreter.
            "PYSPARK_PYTHON": sys.executable,
        }
        command = _launcher_command(main_class, args, env)
        log = logs / f"{name}.log"
        with open(log, "wb") as handle:
            process = subprocess.Popen(
                command,
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a worker's executors too
            )
        daemon = Daemon(name, process, log)
        self.daemons.append(daemon)
        return daemon

    def _wait(self, ready: Callable[[], bool], deadline: float, what: str) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            dead = [d for d in self.daemons if not d.alive()]
            if dead:
                raise ClusterError(self._report(f"{dead[0].name} exited waiting for {what}"))
            if ready():
                return
            time.sleep(0.3)
        raise ClusterError(self._report(f"no {what} after {deadline:.0f} s"))

    def _report(self, problem: str) -> str:
        tails = "\n".join(f"--- {d.name} ({d.log}):\n{d.tail()}" for d in self.daemons)
        return f"Spark test cluster: {problem}\n{tails}"

    # ---- state --------------------------------------------------------------------------

    def master_state(self) -> dict:
        """The master's JSON status: workers (state, cores), applications."""
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=2) as response:
            return json.load(response)

    def alive_workers(self) -> int:
        try:
            state = self.master_state()
        except (OSError, ValueError):  # not listening yet, or cut short
            return 0
        return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")

    # ---- using it -----------------------------------------------------------------------

    def env(self, *, connect: bool = False) -> dict[str, str]:
        """The environment of a process whose `--engine spark` runs on this cluster (with
        connect=True: through its Spark Connect server), the cluster's spark-defaults and
        the tests' Python for the executors."""
        env = _clean_env()
        if connect:
            env["SPARK_REMOTE"] = self.connect_url
        else:
            env["SPARK_MASTER"] = self.master_url
        env |= {
            "SPARK_CONF_DIR": str(self.conf_dir),
            "SPARK_LOCAL_IP": HOST,
            "PYSPARK_PYTHON": sys.executable,
        }
        return env

    def run_cli(
        self, *args: str, connect: bool = False, cwd: Path | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        """`python -m connector_ga.cli ARGS --engine spark` on this cluster, in a process of
        its own; stdout and stderr as text."""
        return run_cli(
            *args, "--engine", "spark", env=self.env(connect=connect), cwd=cwd, timeout=timeout
        )

    def run_python(
        self, code: str, *args: str, connect: bool = False, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        """`python -c CODE ARGS` with this cluster's environment (sys.argv[1:] are ARGS)."""
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            env=self.env(connect=connect),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    # ---- stopping -----------------------------------------------------------------------

    def stop(self, grace: float = STOP_GRACE) -> list[str]:
        """SIGTERM to each daemon (the Connect server and the workers before the master; a
        worker stops its executors), SIGKILL to each process group after `grace`. Returns
        the processes still there after all that (none, normally)."""
        for daemon in reversed(self.daemons):
            with contextlib.suppress(ProcessLookupError):
                daemon.process.terminate()
        end = time.monotonic() + grace
        for daemon in reversed(self.daemons):
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.process.wait(timeout=max(0.1, end - time.monotonic()))
        groups = [daemon.process.pid for daemon in self.daemons]
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)  # whatever of it is left, executors too
        for daemon in self.daemons:
            with contextlib.suppress(subprocess.TimeoutExpired):
                daemon.process.wait(timeout=10)
        self.daemons.clear()
        deadline = time.monotonic() + 10
        while (left := live_processes(groups)) and time.monotonic() < deadline:
            time.sleep(0.2)
        return left


def live_processes(groups: Sequence[int]) -> list[str]:
    """Processes (not zombies) in the given process groups, as 'pid command'."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
        # pid (comm) state ppid pgrp …: the command may hold spaces and parentheses.
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) in groups and state != "Z":
            found.append(f"{entry.name} {command[:200]}")
    return found


def _clean_env() -> dict[str, str]:
    """This process's environment without the Spark settings a developer may have set."""
    env = dict(os.environ)
    for name in (
        "SPARK_MASTER",
        "SPARK_REMOTE",
        "SPARK_HOME",
        "SPARK_CONF_DIR",
        "PYSPARK_SUBMIT_ARGS",
        "PYSPARK_PYTHON",
        "PYSPARK_DRIVER_PYTHON",
    ):
        env.pop(name, None)
    return env


def _launcher_command(main_class: str, args: Sequence[str], env: dict[str, str]) -> list[str]:
    """The JVM command line Spark's launcher builds for a class, as bin/spark-class runs
    it: the classpath (conf folder, jars), the options Java 17 needs, the memory."""
    jars = os.path.join(env["SPARK_HOME"], "jars", "*")
    launcher = [java(), "-Xmx128m", "-cp", jars, "org.apache.spark.launcher.Main"]
    out = subprocess.run(
        [*launcher, main_class, *args], env=env, capture_output=True, timeout=60, check=False
    )
    if out.returncode != 0 or b"\0\n" not in out.stdout:
        problem = out.stderr.decode(errors="replace")[-2000:]
        raise ClusterError(f"Spark's launcher failed for {main_class}: {problem}")
    # NUL and a newline, then each argument followed by NUL.
    return [arg.decode() for arg in out.stdout.split(b"\0\n", 1)[1].split(b"\0")[:-1]]


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
        cluster.start(connect=connect)
        yield cluster
    finally:
        left = cluster.stop()
        if left:
            raise ClusterError("Spark test cluster: still running after stop: " + "; ".join(left))
