"""Pseudonymous connection ids for reports, for telemetry read in place.

A store replaces raw ids by a salted SHA-256 at ingest (its salt lives in the store). Ids
read in place are shown as SHA-256(salt + id), first 16 hex digits, with a salt kept beside
the store in `.connector-ga/salt`: stable from run to run, so a publisher can find a
connection again (`sha256(salt + id)` over their own ids), and not reversible by anyone who
reads a report without the salt (a fixed public salt would let a guessable id be tried).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SALT_FILE = Path(".connector-ga") / "salt"


def local_salt(path: Path = SALT_FILE) -> str:
    """The salt in `path`, made on first use (readable by its owner only). Where it cannot
    be written, a salt for this run only: the ids stay hidden, just not stable."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    except OSError:
        return secrets.token_hex(32)
    salt = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    except OSError:
        return salt
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(salt + "\n")
    return salt
