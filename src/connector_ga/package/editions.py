"""An edition of a connector package: the package's files with a few JSON values changed,
a unified diff of those changes, and a new folder written all at once.

Shared by `promote` (the GA edition) and `clouds` (one edition per sovereign cloud).
"""

from __future__ import annotations

import difflib
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from .jsontext import JsonText

SWAGGER = "apiDefinition.swagger.json"
PROPERTIES = "apiProperties.json"


@dataclass(frozen=True)
class Change:
    """One value an edition changes: where, what it was, what it becomes, and why."""

    file: str
    pointer: str
    line: int
    before: Any  # None when the value is added
    after: Any
    reason: str


class EditablePackage:
    """A connector package folder read into memory: every file's bytes, and its JSON files
    parsed for in-place editing."""

    def __init__(self, package_dir: str | Path) -> None:
        self.path = Path(package_dir)
        if not self.path.is_dir():
            raise InputError(f"{self.path}: not a folder (expected a connector package folder)")
        if not (self.path / SWAGGER).is_file():
            raise InputError(f"{self.path}: no {SWAGGER} (not a connector package folder)")
        self.files: dict[str, bytes] = {}
        try:
            for folder, subfolders, names in os.walk(self.path):
                subfolders.sort()
                for name in sorted(names):
                    file = Path(folder) / name
                    self.files[file.relative_to(self.path).as_posix()] = file.read_bytes()
        except OSError as exc:
            raise InputError(f"{exc.filename}: cannot be read ({exc.strerror})") from None
        self._json: dict[str, JsonText] = {}

    def fresh(self) -> EditablePackage:
        """The same files with no edits: one package read, several editions made from it."""
        copy = object.__new__(EditablePackage)
        copy.path, copy.files, copy._json = self.path, self.files, {}
        return copy

    def json(self, name: str) -> JsonText | None:
        """The JSON file `name` parsed for editing, or None when the package has none."""
        if name not in self._json:
            if name not in self.files:
                return None
            self._json[name] = JsonText(f"{self.path / name}", self.files[name])
        return self._json[name]

    @property
    def swagger(self) -> JsonText:
        swagger = self.json(SWAGGER)
        assert swagger is not None  # checked in __init__
        return swagger

    def edited_files(self) -> dict[str, bytes]:
        """Every file of the package, the edited JSON files with their edits applied."""
        files = dict(self.files)
        for name, doc in self._json.items():
            if doc.changed:
                files[name] = doc.edited_bytes()
        return files

    def diff(self) -> str:
        """The unified diff of every edited file ('' when nothing changed)."""
        return "".join(
            unified_diff(name, doc.text, doc.edited_text())
            for name, doc in sorted(self._json.items())
            if doc.changed
        )


def _lines(text: str) -> list[str]:
    # Split on "\n" only: str.splitlines() would also split inside JSON strings holding
    # U+2028 and friends. A CRLF line keeps its "\r", so the diff shows the file as it is.
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def unified_diff(name: str, before: str, after: str) -> str:
    """A unified diff (git style, paths a/NAME and b/NAME) of one file; '' when equal."""
    out = []
    for line in difflib.unified_diff(_lines(before), _lines(after), f"a/{name}", f"b/{name}"):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def check_out_dir(out_dir: Path, package_dir: Path, overwrite: bool) -> None:
    """Refuse, before any work, an output folder that would destroy something."""
    out, package = out_dir.resolve(), package_dir.resolve()
    if out == package or out.is_relative_to(package) or package.is_relative_to(out):
        raise InputError(
            f"--out {out_dir}: must be outside the package folder {package_dir} and not hold it"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise InputError(
            f"--out {out_dir}: exists and is not empty; choose another folder or pass --overwrite"
        )


def _fresh_sibling(out_dir: Path, suffix: str) -> Path:
    """A new, empty, hidden folder next to `out_dir` (same file system, so rename works)."""
    for _ in range(100):
        candidate = out_dir.parent / f".{out_dir.name}.{secrets.token_hex(4)}.{suffix}"
        try:
            candidate.mkdir()  # honours the umask, unlike tempfile.mkdtemp's 0700
            return candidate
        except FileExistsError:
            continue
    raise InputError(f"--out {out_dir}: cannot create a temporary folder next to it")


def write_atomically(out_dir: Path, files: dict[str, bytes], overwrite: bool = False) -> Path:
    """Write `files` (relative POSIX path → bytes) as the folder `out_dir`, all or nothing.

    The folder is built next to `out_dir` and renamed into place, so an interruption never
    leaves a partial `out_dir`; an existing non-empty one is replaced only when `overwrite`.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = _fresh_sibling(out_dir, "tmp")
    except OSError as exc:
        raise InputError(f"--out {out_dir}: cannot be written ({exc.strerror})") from None
    try:
        for relative, data in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if out_dir.is_dir() and any(out_dir.iterdir()):
            if not overwrite:
                raise InputError(f"--out {out_dir}: exists and is not empty; pass --overwrite")
            retired = out_dir.parent / f"{staging.name[: -len('.tmp')]}.old"
            os.rename(out_dir, retired)
            try:
                os.rename(staging, out_dir)
            except BaseException:
                os.rename(retired, out_dir)
                raise
            shutil.rmtree(retired, ignore_errors=True)
        else:
            if out_dir.is_dir():
                out_dir.rmdir()
            os.rename(staging, out_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"--out {out_dir}: cannot be written ({exc.strerror or exc})") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
