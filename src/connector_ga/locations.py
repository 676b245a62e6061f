"""Where connector-ga keeps things by default, importable without the engine.

The command line reads these at start-up (`--help` shows them), so this module imports
nothing heavy: the store itself (DuckDB, Ibis) loads only when a command opens it.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_STORE = Path(".connector-ga") / "store.duckdb"
