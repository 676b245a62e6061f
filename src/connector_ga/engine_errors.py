"""What an engine's errors look like to a user, without loading an engine: a command that
reads only a store (DuckDB's own API) must not import Ibis or Spark to catch them."""

from __future__ import annotations

import sys


def error_line(exc: BaseException) -> str:
    """The first line of an engine's error that says what is wrong. A Java error passed on
    by Py4J starts with "An error occurred while calling o48.parquet": its innermost cause
    says more ("… is not a Parquet file")."""
    text = str(exc)
    java = getattr(exc, "java_exception", None)
    if java is not None:
        try:
            while java.getCause() is not None:
                java = java.getCause()
            text = str(java.getMessage() or java.toString())
        except Exception:  # the JVM is gone: keep Py4J's own text
            pass
    lines = text.strip().splitlines()
    line = lines[0] if lines else type(exc).__name__
    # Spark quotes a malformed record whole: a binary file would fill the terminal.
    return line if len(line) <= 200 else line[:200] + "…"


def engine_errors() -> tuple[type[BaseException], ...]:
    """Exceptions an engine raises on unreadable input. Ibis's and Spark's only once they
    are loaded (no Ibis expression, no Spark session without them): importing them would
    cost a command that does not use them a few hundred milliseconds."""
    import duckdb

    errors: list[type[BaseException]] = [duckdb.Error]
    if "ibis" in sys.modules:
        import ibis.common.exceptions

        errors.append(ibis.common.exceptions.IbisError)
    if "pyspark" in sys.modules:
        from py4j.protocol import Py4JJavaError
        from pyspark.errors import PySparkException

        errors += [PySparkException, Py4JJavaError]
    return tuple(errors)
