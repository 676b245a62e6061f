"""Faults that are not bugs: a damaged store segment, a full disk, a refused write. Each is
said in one line naming the file and the cause (exit 2), never as "unexpected … (a bug)".

Light on purpose: the CLI's error handler imports it when something fails.
"""

from __future__ import annotations

import errno
import os
import re
import shutil

from .errors import InputError

# A path an engine's message quotes: 'path', "path" or \"path\" (inside its JSON).
_QUOTED = re.compile(r"""\\?["']([^"'\\\s]*/[^"'\\\s]*)\\?["']""")
_SEGMENT = re.compile(r"""['"]([^'"\n]*\.segments/[^'"\n]+)['"]""")

# errno -> the words engines put in their messages for it
_CAUSES = {
    errno.ENOSPC: "No space left on device",
    errno.EDQUOT: "Disk quota exceeded",
    errno.EROFS: "Read-only file system",
    errno.EACCES: "Permission denied",
    errno.EPERM: "Operation not permitted",
}


def damaged_segment(exc: BaseException) -> InputError | None:
    """An engine error met reading a store's segment file: which file, and the way out."""
    text = str(exc)
    found = _SEGMENT.search(text)
    if found is None:
        return None
    path = found.group(1)
    store = path[: path.index(".segments/")]
    lines = text.replace(found.group(0), "").strip().splitlines()
    why = re.sub(r"\s+(at end )?of file\s*$", "", lines[0] if lines else "").strip(" :")
    why = re.sub(r"^(Invalid Input|IO) Error:\s*", "", why)
    return InputError(
        f"{path}: a damaged store segment ({why or type(exc).__name__}); "
        f"`connector-ga store verify --store {store}` lists what is damaged and "
        "`--repair` mends what it can"
    )


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def free_space(path: str) -> str:
    """The free space of the file system `path` is (or would be) on, in words."""
    folder = os.path.abspath(path)
    while folder and not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    try:
        return f"{human_bytes(shutil.disk_usage(folder).free)} free on {folder}"
    except OSError:
        return "free space unknown"


def _cause_in(text: str) -> int | None:
    for code, words in _CAUSES.items():
        if words.lower() in text.lower():
            return code
    return None


def refused_write(exc: BaseException, path: str | os.PathLike | None = None) -> InputError | None:
    """A full disk, a read-only folder or a refused permission (an OSError, or an engine's
    IO error saying so): one line naming the file (`path` when the error names none) and
    the cause, with the free space for a full disk. None for anything else."""
    code = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
    named = getattr(exc, "filename", None) if isinstance(exc, OSError) else None
    if code not in _CAUSES:
        text = str(exc)
        code = _cause_in(text)
        if code is None:
            return None
        quoted = _QUOTED.findall(text)
        named = quoted[0] if quoted else None
    where = os.fspath(named or path or "")
    # What an ingest writes before it publishes: the store's segment folder, to the user.
    staged = re.search(r"^(.*\.segments)/\.staging-", where)
    if staged:
        where = staged.group(1)
    # What is written beside its place first and renamed into it (an export, a site).
    where = re.sub(r"(^|/)\.([^/]+)\.partial-[0-9a-f]+(/.*)?$", r"\1\2", where)
    cause = _CAUSES[code]
    if code in (errno.ENOSPC, errno.EDQUOT):
        cause += f" ({free_space(where or '.')})"
    return InputError(
        f"{where + ': ' if where else ''}{cause}; nothing was changed: the store and earlier "
        "outputs are as they were"
    )
