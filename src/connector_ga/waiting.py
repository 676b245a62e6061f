"""Waiting for a store another process holds: bounded, naming the holder.

A DuckDB file admits one writing process, or several reading ones. A second process
that finds it held waits (up to a limit) instead of failing, and says who holds it.
The limit and what to show while waiting are set by the caller for a whole command
(`waiting(...)`), so the library functions that open stores need no extra parameters.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

DEFAULT_WAIT_SECONDS = 600.0
_LOCK_HELD = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


@dataclass(frozen=True)
class Holder:
    """The process holding a store, as far as the system tells."""

    pid: int | None
    command: str

    def __str__(self) -> str:
        if self.pid is None:
            return self.command
        return f"process {self.pid} ({self.command})"


def command_line(pid: int, fallback: str = "") -> str:
    """A process's command line, shortened for one line (Linux /proc; else the fallback)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = [w.decode(errors="replace") for w in handle.read().split(b"\0") if w]
    except OSError:
        words = []
    if not words:
        return fallback or "unknown command"
    # `python -m connector_ga.cli ingest …` and `.venv/bin/connector-ga ingest …` alike.
    for i, word in enumerate(words):
        base = os.path.basename(word)
        if base == "connector-ga" or word == "connector_ga.cli":
            words = ["connector-ga", *words[i + 1 :]]
            break
    else:
        words[0] = os.path.basename(words[0])
    text = " ".join(" ".join(words).split())  # one line, whatever the arguments hold
    return text if len(text) <= 80 else text[:79] + "…"


def lock_holder(message: str) -> Holder | None:
    """The holder named in DuckDB's "could not set lock" error, or None for another error."""
    found = _LOCK_HELD.search(message)
    if found is None:
        return None
    pid = int(found["pid"])
    return Holder(pid, command_line(pid, os.path.basename(found["exe"])))


OnWait = Callable[[Holder | None, float], None]


@dataclass(frozen=True)
class WaitPolicy:
    seconds: float = DEFAULT_WAIT_SECONDS
    # Told the holder and the seconds waited while waiting; (None, waited) once it is over.
    on_wait: OnWait | None = None


_policy: contextvars.ContextVar[WaitPolicy | None] = contextvars.ContextVar(
    "connector_ga_wait", default=None
)


@contextlib.contextmanager
def waiting(seconds: float = DEFAULT_WAIT_SECONDS, on_wait: OnWait | None = None) -> Iterator[None]:
    """Within the block, opening a held store waits up to `seconds`, telling `on_wait`."""
    token = _policy.set(WaitPolicy(seconds, on_wait))
    try:
        yield
    finally:
        _policy.reset(token)


class StillHeld(Exception):
    def __init__(self, holder: Holder, waited: float) -> None:
        super().__init__(str(holder))
        self.holder = holder
        self.waited = waited


def retry_while_held(attempt: Callable[[], object], held: Callable[[BaseException], Holder | None]):
    """Run `attempt` until it does not fail for being held, or the policy's limit passes.

    `held` tells, of an exception, who holds the resource (None: a real error, raised).
    Past the limit, StillHeld names the last holder.
    """
    policy = _policy.get() or WaitPolicy()
    started = time.monotonic()
    pause, waited_any = 0.05, False
    while True:
        try:
            result = attempt()
        except Exception as exc:
            holder = held(exc)
            if holder is None:
                raise
            waited = time.monotonic() - started
            if waited >= policy.seconds:
                if waited_any and policy.on_wait:
                    policy.on_wait(None, waited)
                raise StillHeld(holder, waited) from None
            if policy.on_wait:
                policy.on_wait(holder, waited)
            waited_any = True
            time.sleep(min(pause, max(policy.seconds - waited, 0.0)))
            pause = min(pause * 2, 1.0)
            continue
        if waited_any and policy.on_wait:
            policy.on_wait(None, time.monotonic() - started)
        return result


# ---- the writers' turn --------------------------------------------------------------------


class _Busy(Exception):
    def __init__(self, holder: Holder) -> None:
        super().__init__(str(holder))
        self.holder = holder


def _holder_in(handle) -> Holder:
    """Who holds a lock file: the pid and command the holder wrote into it."""
    handle.seek(0)
    text = handle.read().strip()
    pid_text, _, command = text.partition(" ")
    pid = int(pid_text) if pid_text.isdigit() else None
    if pid is not None:
        command = command_line(pid, command or "unknown command")
    return Holder(pid, command or "another process")


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold `path` (a lock file, made if missing) alone for the block; while another
    process holds it, wait as the current policy says, naming the holder. The system
    releases it when the process ends, however it ends."""
    import fcntl

    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
    try:

        def attempt() -> None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise _Busy(_holder_in(handle)) from None

        try:
            retry_while_held(attempt, lambda exc: exc.holder if isinstance(exc, _Busy) else None)
        except StillHeld as busy:  # not our bug: one line naming the holder, exit 2
            from .errors import InputError

            store = str(path).removesuffix(".lock")  # the store whose writers' lock this is
            raise InputError(
                f"{store}: still held by {busy.holder} after waiting {busy.waited:.0f} s; "
                "try again when it is done, or wait longer with --wait SECONDS"
            ) from None
        fd = handle.fileno()
        os.ftruncate(fd, 0)
        try:  # who holds it, for a second writer to name (unbuffered: nothing left to flush)
            os.pwrite(fd, f"{os.getpid()} {command_line(os.getpid())}\n".encode(), 0)
        except OSError:  # a full disk: the lock holds all the same, its holder unnamed
            os.ftruncate(fd, 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        handle.close()
