"""The JSON contract connector-ga/result/v1 (a list of them in fleet mode)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError
from ..result import Result


def dumps(results: Result | Sequence[Result]) -> str:
    if isinstance(results, Result):
        payload = results.to_json_dict()
    else:
        payload = [r.to_json_dict() for r in results]
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _why_not(path: Path, exc: OSError) -> str:
    """Why a file cannot be made at `path`: a file where a folder should be, or the system's
    reason for the folder it would go in."""
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                return f"{folder} is a file, not a folder"
            break
    return f"cannot create a file in {path.parent} ({exc.strerror or exc})"


def write_atomic(path: str | Path, text: str) -> None:
    """Write a file whole or not at all: a temp file in the same folder, then rename."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # not our bug: one line naming the path and why
        raise InputError(f"{path}: cannot write it: {_why_not(path, exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary file would be, not mkstemp's 0600
        os.replace(tmp, path)
    except OSError as exc:  # a full disk: one line naming the file, the old one kept
        Path(tmp).unlink(missing_ok=True)
        from ..faults import refused_write

        raise (refused_write(exc, path) or exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_all_atomic(files: dict[Path, str]) -> None:
    """Write several files all or none: each into a temp file beside it first; only when
    every one is written are they renamed into place (a full disk keeps the older ones)."""
    from ..faults import refused_write

    temps: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            path = Path(path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            except OSError as exc:
                raise InputError(f"{path}: cannot write it: {_why_not(path, exc)}") from None
            temps.append((tmp, path))
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.chmod(tmp, 0o666 & ~_umask())
            except OSError as exc:
                raise (refused_write(exc, path) or exc) from None
        for tmp, path in temps:
            os.replace(tmp, path)
    finally:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
