"""Pseudonymous connection ids for reports, for telemetry read in place.

A store replaces raw ids by a salted SHA-256 at ingest (its salt lives in the store). Ids
read in place are shown as SHA-256(salt + id), first 16 hex digits. The salt is, in order:
`CONNECTOR_GA_SALT` (a CI secret: the same pseudonyms on every run and every fresh
clone); the user's own salt in `$XDG_CONFIG_HOME/connector-ga/salt` (default
`~/.config/connector-ga/salt`, made on first use, 0600); a salt an earlier version kept in
`./.connector-ga/salt` is still read, never written. Stable from run to run, so a
publisher can find a connection again (`sha256(salt + id)` over their own ids), and not
reversible by anyone who reads a report without the salt (a fixed public salt would let a
guessable id be tried). Nothing is written in the working folder.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .errors import InputError

SALT_ENV = "CONNECTOR_GA_SALT"
LEGACY_SALT_FILE = Path(".connector-ga") / "salt"


def salt_file() -> Path:
    """Where the user's salt lives: `$XDG_CONFIG_HOME/connector-ga/salt`."""
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "connector-ga" / "salt"


def local_salt(path: Path | None = None) -> str:
    """The salt for ids read in place (see the module's docstring). Where the user's salt
    cannot be written, a salt for this run only: the ids stay hidden, just not stable."""
    if path is None:
        given = os.environ.get(SALT_ENV)
        if given is not None:
            if len(given.strip()) < 16:
                raise InputError(
                    f"{SALT_ENV}: expected a secret of at least 16 characters "
                    "(e.g. the output of `openssl rand -hex 32`)"
                )
            return given.strip()
        path = salt_file()
        if not path.exists() and LEGACY_SALT_FILE.is_file():
            path = LEGACY_SALT_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError):
        return secrets.token_hex(32)
    salt = secrets.token_hex(32)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    except OSError:
        return salt
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(salt + "\n")
    return salt
