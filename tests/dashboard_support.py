"""What the dashboard tests share: a real `connector-ga serve` process on a free port of
127.0.0.1, plain HTTP requests (urllib), the links of a page, and headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CLI = [sys.executable, "-m", "connector_ga.cli"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`connector-ga serve` in its own process, stopped (SIGINT, as Ctrl-C) on exit. Its
    output is read at exit: a long run (one log line per request) passes `output`, a file
    that takes it, so a full pipe never stops the server."""

    def __init__(self, *args: str, env: dict | None = None, output: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = [*CLI, "serve", "--port", str(self.port), *args]
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None
        self.stdout = self.stderr = ""
        self.output = output

    def __enter__(self) -> Server:
        sink = subprocess.PIPE if self.output is None else open(self.output, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            self.args, stdout=sink, stderr=subprocess.STDOUT if self.output else sink,
            text=True, env=self.env,
        )  # fmt: skip
        if self.output is not None:
            sink.close()  # the child has its own copy
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # bounded: the server answers /login at once
            if self.process.poll() is not None:
                said = self.process.stderr.read() if self.output is None else self.read_output()
                raise AssertionError(f"serve stopped: {said}")
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=2):
                    return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise AssertionError("serve did not answer within 60 s")

    def __exit__(self, *exc) -> None:
        assert self.process is not None
        self.process.send_signal(2)  # SIGINT: what Ctrl-C sends
        try:
            self.stdout, self.stderr = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.stdout, self.stderr = self.process.communicate()
            raise AssertionError("serve did not stop on SIGINT within 30 s") from None
        if self.output is not None:
            self.stdout = self.stderr = self.read_output()

    def read_output(self) -> str:
        assert self.output is not None
        return self.output.read_text(encoding="utf-8", errors="replace")


def get(url: str, headers: dict | None = None, timeout: float = 120) -> tuple[int, dict, str]:
    """(status, headers, body) of a GET, errors included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, headers, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        headers = {k.lower(): v for k, v in exc.headers.items()}
        return exc.code, headers, exc.read().decode("utf-8")


def get_json(url: str, headers: dict | None = None):
    status, _, body = get(url, headers)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "href" and tag == "a" and value is not None:
                self.hrefs.append(value)
            if name in ("src", "href") and tag in ("script", "img", "link", "iframe"):
                self.sources.append(value or "")


def links_of(html: str) -> tuple[list[str], list[str]]:
    """(<a href> values, the URLs of scripts, images, stylesheets and frames)."""
    parser = _Links()
    parser.feed(html)
    return parser.hrefs, parser.sources


def require_chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: `make test` installs it")
        pytest.skip("chromium not installed (make test installs it)")
    return CHROMIUM


BROWSER_SERVICES = re.compile(r"(^|\.)(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)$")


def open_in_chromium(url: str, folder: Path, name: str) -> dict:
    """Open a page in headless Chromium: its console lines, the URLs it requested of
    another origin (from the browser's net log), its screenshot and its DOM."""
    chromium = require_chromium()
    shot, netlog = folder / f"{name}.png", folder / f"{name}-netlog.json"
    base = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={folder / f'{name}-profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1280,900",
    ]
    done = subprocess.run(
        [*base, f"--log-net-log={netlog}", f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    console = [
        line for line in done.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line
    ]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = next(
        k for k, v in log["constants"]["logEventTypes"].items() if k == "URL_REQUEST_START_JOB"
    )
    start_type = log["constants"]["logEventTypes"][start]
    requested = [
        (e["params"]["url"], e["params"].get("initiator"))
        for e in log["events"]
        if e["type"] == start_type and "url" in e.get("params", {})
    ]
    other = []
    for target, initiator in requested:
        parts = urlsplit(target)
        if f"{parts.scheme}://{parts.netloc}" == origin or parts.scheme in ("data", "about"):
            continue
        # The browser's own update and time checks are no request of the page.
        if initiator == "not an origin" and BROWSER_SERVICES.search(parts.hostname or ""):
            continue
        other.append(target)
    return {
        "console": console,
        "other_origins": other,
        "requested": [t for t, _ in requested],
        "screenshot": shot,
    }
