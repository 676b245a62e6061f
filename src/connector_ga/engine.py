"""Opening an engine, and the only place that knows which one it is.

The pass from requests to rollups works on Ibis expressions. DuckDB (embedded) is the
default; Spark (PySpark: local, a cluster, or Spark Connect) is for scale. The file readers
and `fetch_arrow` here are the thin per-engine part; each dispatches on the backend's name.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import os
from collections.abc import Sequence

import ibis
from ibis.backends import BaseBackend

from .engine_errors import engine_errors, error_line  # noqa: F401 (the engine's)
from .errors import InputError

ENGINES = ("duckdb", "spark")
SPARK_MASTER = "local[2]"
# Any Spark session: times in UTC, results handed to Python as Arrow.
SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
# A local session on a few cores: the aggregates here are small, so Spark's default of 200
# shuffle partitions only adds tasks; no web UI, no progress bars. A cluster keeps its own.
SPARK_LOCAL_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}

LOG4J = """\
rootLogger.level = fatal
rootLogger.appenderRef.stderr.ref = console
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = fatal
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""

_names = itertools.count()
_spark: BaseBackend | None = None  # one Spark session per process: start-up costs seconds


def connect(
    *,
    engine: str = "duckdb",
    master: str | None = None,
    remote: str | None = None,
) -> BaseBackend:
    """A connection whose session time zone is UTC.

    `duckdb` (default): embedded, in memory (a store file is attached to it). `spark`: a PySpark
    session, reused for the whole process: `remote` (or SPARK_REMOTE) for Spark Connect,
    else `master` (or SPARK_MASTER, default local[2]).
    """
    if engine == "spark":
        return _connect_spark(master, remote)
    if engine != "duckdb":
        raise InputError(f"--engine {engine}: expected one of {', '.join(ENGINES)}")
    con = ibis.duckdb.connect(":memory:")
    con.raw_sql("SET TimeZone = 'UTC'")
    return con


def _connect_spark(master: str | None, remote: str | None) -> BaseBackend:
    global _spark
    if _spark is not None:
        return _spark
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError(
            "--engine spark needs PySpark: pip install 'connector-ga[spark]' (and a Java runtime)"
        ) from None
    remote = remote or os.environ.get("SPARK_REMOTE")
    builder = SparkSession.builder.appName("connector-ga")
    conf = dict(SPARK_CONF)
    if remote:
        builder = builder.remote(remote)
    else:
        master = master or os.environ.get("SPARK_MASTER") or SPARK_MASTER
        builder = builder.master(master)
        if master.startswith("local"):
            conf |= SPARK_LOCAL_CONF
        # The driver runs in this process, on a cluster too: its JVM's start-up lines,
        # progress bars and warnings (a failed task's stack trace) are not the user's business.
        conf["spark.ui.showConsoleProgress"] = "false"
        conf["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={_quiet_log4j()}"
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM is missing, or the cluster cannot be reached
        raise InputError(
            f"--engine spark: cannot start a Spark session: {error_line(exc)}"
        ) from None
    if not remote:
        session.sparkContext.setLogLevel("FATAL")  # failures reach the caller as errors
    _quiet_query_errors()
    _spark = ibis.pyspark.connect(session)
    return _spark


def _quiet_log4j() -> str:
    """A log4j2 configuration that keeps Spark's JVM quiet (written once per content): a
    failure reaches the caller as an error anyway. Setting PySpark's gateway logger too
    stops its "Setting default log level" lines."""
    import hashlib
    import tempfile

    digest = hashlib.sha256(LOG4J.encode()).hexdigest()[:12]
    path = os.path.join(tempfile.gettempdir(), f"connector-ga-log4j2-{digest}.properties")
    if not os.path.exists(path):
        partial = f"{path}.{os.getpid()}"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(LOG4J)
        os.replace(partial, path)
    return path


def _quiet_query_errors() -> None:
    """PySpark 4 also logs every failed query with its stack trace; the error itself still
    reaches the caller, who says it in one line (a file that cannot be read, and where).
    Likewise two warnings that are not the user's business."""
    import logging
    import warnings

    # The same failure, as a warning with the JVM's stack trace, when results come as Arrow.
    warnings.filterwarnings("ignore", "toPandas attempted Arrow optimization", UserWarning)
    # Spark Connect, about an option Ibis passes for its small in-memory tables.
    warnings.filterwarnings("ignore", "'verifySchema' is ignored", UserWarning)
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:  # PySpark 3.5 has no such logger
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL + 1)


def is_spark(con: BaseBackend) -> bool:
    return con.name == "pyspark"


def _paths(files: Sequence[str]) -> list[str]:
    return [str(f) for f in files]


# Files are read as they are: a folder named `status=7/` (Azure's `y=2026/m=11/` archive
# folders alike) is never taken for a column, so DuckDB's Hive partitioning stays off.


def read_csv(con: BaseBackend, files: Sequence[str]) -> ibis.Table:
    """CSV files as text columns plus `_file`; types are checked later, row by row."""
    if is_spark(con):
        return _spark_csv(con, _paths(files))
    return con.read_csv(
        _paths(files),
        table_name=f"cga_csv_{next(_names)}",
        all_varchar=True,
        header=True,
        union_by_name=True,
        filename="_file",
        hive_partitioning=False,
    )


def json_columns(con: BaseBackend, files: Sequence[str]) -> list[str]:
    """The keys found in JSON files (lines or an array of objects), sampled by the engine."""
    if is_spark(con):
        return _spark_json_keys(con, _paths(files))
    table = con.read_json(
        _paths(files),
        table_name=f"cga_jsonkeys_{next(_names)}",
        format="auto",
        union_by_name=True,
        sample_size=-1,
        hive_partitioning=False,
    )
    return list(table.columns)


def read_json(con: BaseBackend, files: Sequence[str], columns: Sequence[str]) -> ibis.Table:
    """JSON read with every key as text, so a wrong type is a rejected row, not a crash."""
    if is_spark(con):
        return _spark_json(con, _paths(files), columns)
    return con.read_json(
        _paths(files),
        table_name=f"cga_json_{next(_names)}",
        format="auto",
        columns={name: "VARCHAR" for name in columns},
        filename="_file",
        hive_partitioning=False,
    )


def read_parquet(con: BaseBackend, files: Sequence[str]) -> ibis.Table:
    """Parquet files plus `_file`. Nanosecond timestamps (pandas' default) are floored to the
    microsecond alike on both engines, zone-aware or naive as written."""
    if is_spark(con):
        return _spark_parquet(con, _paths(files))
    table = con.read_parquet(
        _paths(files),
        table_name=f"cga_parquet_{next(_names)}",
        union_by_name=True,
        filename="_file",
        hive_partitioning=False,
    )
    return _duckdb_micro_times(con, table)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _duckdb_micro_times(con: BaseBackend, table: ibis.Table) -> ibis.Table:
    """DuckDB's own cast of a nanosecond time rounds to the microsecond, and would move
    23:59:59.9999995 to the next day; Spark (below) and pandas floor."""
    view = _quote(table.get_name())
    zone_aware = {"TIMESTAMPTZ_NS": True, "TIMESTAMP_NS": False}
    columns = con.raw_sql(f"DESCRIBE {view}").fetchall()  # (name, type, …)
    nanos = {row[0]: zone_aware[row[1]] for row in columns if row[1] in zone_aware}
    if not nanos:
        return table
    replaced = []
    for name, aware in nanos.items():
        ns = f"epoch_ns({_quote(name)})"
        # `//` truncates toward zero: one less before 1970, to floor.
        micros = f"make_timestamp({ns} // 1000 - CASE WHEN {ns} % 1000 < 0 THEN 1 ELSE 0 END)"
        time = f"timezone('UTC', {micros})" if aware else micros  # naive: as UTC, not local
        replaced.append(f"{time} AS {_quote(name)}")
    name = f"cga_parquet_{next(_names)}"
    con.raw_sql(
        f"CREATE TEMP VIEW {_quote(name)} AS SELECT * REPLACE ({', '.join(replaced)}) FROM {view}"
    )
    return con.table(name)


def file_row_number(con: BaseBackend, raw: ibis.Table) -> ibis.Value:
    """0-based position of each row in its file, for a table read from one file."""
    if is_spark(con):
        # Spark keeps no file order, but its row ids rise with the position in the file:
        # partitions are numbered in file-offset order (and a CSV or JSON array file is one).
        return ibis.row_number().over(order_by=_monotonically_increasing_id())
    return ibis.row_number().over()


@ibis.udf.scalar.builtin(name="monotonically_increasing_id")
def _monotonically_increasing_id() -> int:
    """Spark's row id: increasing within a partition, partitions in order."""


def fetch_arrow(con: BaseBackend, query: str):
    """A query in the engine's SQL, its rows brought into this process as an Arrow table
    (DuckDB's own or Spark's Arrow path: no pandas on the way)."""
    if is_spark(con):
        frame = _session(con).sql(query)
        if hasattr(frame, "toArrow"):  # PySpark 4
            return frame.toArrow()
        import pyarrow as pa  # PySpark 3.5: the same path, not yet public

        return pa.Table.from_batches(frame._collect_as_arrow(), schema=None)
    return con.con.sql(query).to_arrow_table()


def fetch_rows(con: BaseBackend, expr: ibis.Table) -> list[dict]:
    """A small result as a list of dicts of Python values (through neither pandas nor
    Arrow: PyArrow's Python conversion of a zone-aware time imports pandas)."""
    query = str(con.compile(expr))
    if is_spark(con):
        return [row.asDict() for row in _session(con).sql(query).collect()]
    relation = con.con.sql(query)
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


# ---- Spark readers ------------------------------------------------------------------------


def _session(con: BaseBackend):
    return con._session


def _with_file(frame):
    """Add `_file`: the path as given, decoded from the URI Spark reports."""
    from pyspark.sql import functions as F

    uri = F.input_file_name()
    # Spark's URI escapes '%' and spaces but leaves '+' as is: protect it from url_decode.
    path = F.regexp_replace(F.url_decode(F.regexp_replace(uri, "\\+", "%2B")), "^file:(//)?", "")
    return frame.withColumn("_file", path)


def _register(con: BaseBackend, frame, kind: str) -> ibis.Table:
    name = f"cga_{kind}_{next(_names)}"
    frame.createOrReplaceTempView(name)
    return con.table(name)


def _union(frames: list):
    combined = frames[0]
    for frame in frames[1:]:
        combined = combined.unionByName(frame, allowMissingColumns=True)
    return combined


def _csv_header(path: str) -> tuple[str, ...]:
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        return tuple(next(csv.reader(handle), []))


def _spark_csv(con: BaseBackend, files: list[str]) -> ibis.Table:
    """Files with the same header are read together; different headers are united by name.
    multiLine: a quoted line break stays inside its field (and a file is read in order)."""
    reader = _session(con).read.options(
        header=True, inferSchema=False, multiLine=True, escape='"', mode="FAILFAST"
    )
    groups: dict[tuple[str, ...], list[str]] = {}
    for path in files:
        groups.setdefault(_csv_header(path), []).append(path)
    frames = [_with_file(reader.csv(paths)) for paths in groups.values()]
    return _register(con, _union(frames), "csv")


def _json_is_array(path: str) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(4096).decode("utf-8-sig", errors="replace")
    return head.lstrip().startswith("[")


def _json_frames(con: BaseBackend, files: list[str], schema=None) -> list:
    """JSON Lines files read as lines, arrays of objects as whole documents."""
    session = _session(con)
    kinds = {True: [], False: []}
    for path in files:
        kinds[_json_is_array(path)].append(path)
    frames = []
    for whole, paths in kinds.items():
        if not paths:
            continue
        reader = session.read.options(multiLine=whole, mode="FAILFAST", encoding="UTF-8")
        if schema is not None:
            reader = reader.schema(schema)
        else:
            reader = reader.options(primitivesAsString=True)
        frames.append(reader.json(paths))
    return frames


def _spark_json_keys(con: BaseBackend, files: list[str]) -> list[str]:
    names: dict[str, None] = {}
    for frame in _json_frames(con, files):
        names.update(dict.fromkeys(frame.columns))
    return list(names)


def _spark_json(con: BaseBackend, files: list[str], columns: Sequence[str]) -> ibis.Table:
    """Every key read as text: an object or array under a key is kept as its JSON text."""
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([StructField(name, StringType()) for name in columns])
    frames = [_with_file(frame) for frame in _json_frames(con, files, schema)]
    return _register(con, _union(frames), "json")


def _spark_parquet(con: BaseBackend, files: list[str]) -> ibis.Table:
    """Files with the same schema are read together; the union of different schemas goes by
    name and widens types (int16 and int64 status columns; Spark's mergeSchema refuses)."""
    import pyarrow.parquet as pq

    groups: dict[tuple, list[str]] = {}
    nanos: dict[tuple, dict[str, bool]] = {}
    for path in files:
        try:
            schema = pq.read_schema(path)
        except (OSError, ValueError) as exc:  # not Parquet: said as an engine's read error
            raise ibis.common.exceptions.IbisError(error_line(exc)) from None
        key = tuple((f.name, str(f.type)) for f in schema)
        groups.setdefault(key, []).append(path)
        nanos[key] = _nanosecond_times(schema)
    session = _session(con)
    if any(nanos.values()):
        _read_nanos_as_long(session)
    frames = [
        _with_file(_spark_micro_times(session.read.parquet(*paths), nanos[key]))
        for key, paths in groups.items()
    ]
    return _register(con, _union(frames), "parquet")


def _nanosecond_times(schema) -> dict[str, bool]:
    """Top-level TIMESTAMP(NANOS) columns (pandas' default), each with whether it is
    zone-aware (isAdjustedToUTC)."""
    import pyarrow as pa

    return {
        field.name: field.type.tz is not None
        for field in schema
        if pa.types.is_timestamp(field.type) and field.type.unit == "ns"
    }


def _read_nanos_as_long(session) -> None:
    """Spark 3.2 to 4.0 refuse TIMESTAMP(NANOS) ("Illegal Parquet type") unless this SQL conf
    reads it as bigint nanoseconds. Kept set: the files are read again by each query. A
    platform that forbids it may read such columns itself; if not, its read error says so."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        session.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
    except (PySparkException, Py4JJavaError):
        pass


def _spark_micro_times(frame, nanos: dict[str, bool]):
    """Nanosecond columns read as bigint, back to timestamps floored to the microsecond:
    zone-aware ones as TIMESTAMP, naive ones as TIMESTAMP_NTZ (as Spark reads microseconds)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType

    types = {field.name: field.dataType for field in frame.schema.fields}
    times = {}
    for name, aware in nanos.items():
        if not isinstance(types.get(name), LongType):
            continue  # a Spark that reads them as timestamps itself
        column = "`" + name.replace("`", "``") + "`"
        micros = f"({column} - pmod({column}, 1000)) div 1000"  # exact: no double on the way
        if aware:
            times[name] = F.expr(f"timestamp_micros({micros})")
        else:  # the wall-clock time as written, whatever the session time zone
            epoch = "TIMESTAMP_NTZ'1970-01-01 00:00:00'"
            times[name] = F.expr(f"timestampadd(MICROSECOND, {micros}, {epoch})")
    return frame.withColumns(times) if times else frame


# ---- an export: Hive-partitioned Parquet ----------------------------------------------------

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "int64": "BIGINT",
    "int16": "SMALLINT",
    "boolean": "BOOLEAN",
    "float64": "DOUBLE",
    "timestamp('UTC')": "TIMESTAMPTZ",
}


def read_hive_parquet(
    con: BaseBackend,
    root: str,
    columns: dict[str, str],
    partitions: Sequence[str],
    only: tuple[str, Sequence] | None = None,
) -> ibis.Table | None:
    """A Hive-partitioned Parquet folder (`root/connector=…/day=…/*.parquet`) with the
    given columns and types. `only` = (partition column, values) reads just those
    partitions: Spark prunes them itself (given the schema, it opens no file to plan); on
    DuckDB only the matching folders are listed. None when no partition matches."""
    schema = ibis.schema(columns)
    if is_spark(con):
        from pyspark.sql import functions as F
        from pyspark.sql.types import _parse_datatype_string

        ddl = ", ".join(f"`{name}` {_SPARK_TYPES[kind]}" for name, kind in columns.items())
        frame = _session(con).read.schema(_parse_datatype_string(ddl)).parquet(root)
        if only is not None:
            column, values = only
            frame = frame.filter(F.col(column).isin([str(v) for v in values]))
        table = _register(con, frame, "hive")
    else:
        import glob as globbing

        hive_types = ", ".join(f"'{p}': '{_DUCKDB_TYPES[columns[p]]}'" for p in partitions)
        if only is None:
            sources = [f"{root}/**/*.parquet"]
        else:
            column, values = only
            folders = "/".join("*" if p != column else "{}" for p in partitions)
            sources = sorted(
                f
                for value in values
                for f in globbing.glob(
                    f"{globbing.escape(root)}/{folders.format(f'{column}={value}')}/*.parquet"
                )
            )
            if not sources:
                return None
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in sources)
        name = f"cga_hive_{next(_names)}"
        con.raw_sql(
            f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet([{listed}], "
            f"hive_partitioning = true, hive_types = {{{hive_types}}})"
        )
        table = con.table(name)
    return table.select(*[table[name].cast(kind) for name, kind in schema.items()])


_SPARK_TYPES = {
    "string": "STRING",
    "date": "DATE",
    "int64": "BIGINT",
    "int16": "SMALLINT",
    "boolean": "BOOLEAN",
    "float64": "DOUBLE",
    "timestamp('UTC')": "TIMESTAMP",
}


def read_single_parquet(con: BaseBackend, path: str) -> ibis.Table:
    if is_spark(con):
        return _register(con, _session(con).read.parquet(path), "parquet")
    return con.read_parquet(path, table_name=f"cga_single_{next(_names)}")


def read_text(con: BaseBackend, path: str) -> str:
    """A small text file (a manifest) where the engine reads files: on Spark, through the
    cluster's file system, so a path the driver cannot open locally still works."""
    if is_spark(con) and "://" in path:
        rows = _session(con).read.text(path, wholetext=True).collect()
        if not rows:
            raise OSError(f"{path}: empty")
        return rows[0][0]
    with open(path.removeprefix("file://"), encoding="utf-8") as handle:
        return handle.read()


# ---- DuckDB only: the store ---------------------------------------------------------------


def begin(con: BaseBackend) -> None:
    con.raw_sql("BEGIN TRANSACTION")


def commit(con: BaseBackend) -> None:
    con.raw_sql("COMMIT")


def rollback(con: BaseBackend) -> None:
    con.raw_sql("ROLLBACK")


def tables_of(con: BaseBackend, database: str) -> set[str]:
    """Names of the tables in an attached database."""
    name = database.replace("'", "''")
    rows = con.raw_sql(
        f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{name}'"
    ).fetchall()
    return {row[0] for row in rows}


@ibis.udf.scalar.builtin(name="try_strptime")
def _duckdb_try_strptime(text: str, fmt: str) -> ibis.expr.datatypes.Timestamp(timezone="UTC"):
    """DuckDB's try_strptime: null when the text does not fit the format."""


def try_parse_time(text: ibis.Value, fmt: str) -> ibis.Value:
    """Text in a strftime format read as a UTC timestamp, null when it does not fit.

    Used for the Azure portal's CSV export; the format is read the same on every engine.
    """
    utc = ibis.expr.datatypes.Timestamp(timezone="UTC")
    if _on_spark(text):
        return _spark_try_to_timestamp(text, _java_pattern(fmt)).cast(utc)
    return _duckdb_try_strptime(text, fmt).cast(utc)


@ibis.udf.scalar.builtin(name="try_to_timestamp")
def _spark_try_to_timestamp(text: str, fmt: str) -> ibis.expr.datatypes.Timestamp(timezone="UTC"):
    """Spark's try_to_timestamp: null when the text does not fit; naive times are read in
    the session time zone (UTC)."""


# strftime directives as Spark datetime patterns; a run of S parses 1 to that many digits.
_JAVA_PATTERNS = {
    "%Y": "yyyy",
    "%m": "M",
    "%d": "d",
    "%H": "H",
    "%I": "h",
    "%M": "mm",
    "%S": "ss",
    "%f": "SSSSSS",
    "%p": "a",
}


def _java_pattern(fmt: str) -> str:
    pattern, i = [], 0
    while i < len(fmt):
        directive = fmt[i : i + 2]
        if directive in _JAVA_PATTERNS:
            pattern.append(_JAVA_PATTERNS[directive])
            i += 2
            continue
        char = fmt[i]
        pattern.append(f"'{char}'" if char.isalpha() else char)
        i += 1
    return "".join(pattern)


@ibis.udf.scalar.builtin(name="xxhash64")
def _spark_xxhash64(scope: str, value: str) -> int:
    """Spark's 64-bit xxHash (its `hash` is 32-bit: too many collisions for ids)."""


@ibis.udf.scalar.builtin(name="hash")
def _duckdb_hash(scope: str, value: str) -> int:
    """DuckDB's 64-bit hash of several values at once (no concatenated text to build)."""


def id_hash(scope: ibis.Value, column: ibis.Value) -> ibis.Value:
    """A 64-bit hash of an id within its scope (a request id within its connector), for
    cheap distinct counts where collisions are checked."""
    if _on_spark(column):
        return _spark_xxhash64(scope, column)
    return _duckdb_hash(scope, column)


def _on_spark(expr: ibis.Expr) -> bool:
    """Whether an expression reads tables of a Spark connection (for the few functions
    below that are spelled differently per engine and are not given the connection)."""
    try:
        backend = expr._find_backend(use_default=True)
    except ibis.common.exceptions.IbisError:  # unbound tables: no engine yet
        return False
    return backend is not None and is_spark(backend)


@ibis.udf.scalar.builtin(name="json_valid")
def _duckdb_json_valid(text: str) -> bool:
    """DuckDB's json_valid: whether the text is JSON."""


def json_key(column: ibis.Value, key: str) -> ibis.Value:
    """A key of a JSON object held as text, as text: a string unquoted, anything else as
    its JSON text; null when the text is not JSON, has no such key or holds null there."""
    text = column.cast("string")
    if _on_spark(text):
        # get_json_object does exactly that; Ibis's generic spelling would go through
        # to_json() and a Python UDF.
        return text.cast("json")[key].cast("string")
    # Checked before the cast: DuckDB 2.0 pushes a TRY_CAST of a CSV column into the CSV
    # scan, where it is a strict cast and one cell that is not JSON fails the whole file.
    value = ibis.ifelse(_duckdb_json_valid(text), text, None).try_cast("json")[key]
    # A JSON null is no value (its JSON text would be the string 'null').
    return ibis.coalesce(value.str, value.cast("string").nullif("null"))


# ---- UTC days ------------------------------------------------------------------------------
# DuckDB turns a zone-aware time into its date through ICU, row by row: at 10M requests the
# day and the ISO week cost 2.4 s and 5.0 s, against 0.5 s and 0.2 s more for the same dates
# from the time's microseconds since the epoch (integer arithmetic, floored, so a time before
# 1970 falls on its own day too). Spark's own date functions are fast; they stay.

_US_PER_DAY = 86_400_000_000
_EPOCH = dt.date(1970, 1, 1)


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(time: ibis.expr.datatypes.Timestamp(timezone="UTC")) -> int:
    """Microseconds since 1970-01-01T00:00Z."""


@ibis.udf.scalar.builtin(name="divide")
def _duckdb_divide(a: int, b: int) -> int:
    """Integer division, truncated towards zero."""


@ibis.udf.scalar.builtin(name="add")
def _duckdb_add_days(day: dt.date, days: ibis.expr.datatypes.Int32) -> dt.date:
    """A date plus a number of days."""


def utc_day(time: ibis.Value) -> ibis.Value:
    """The UTC day of a zone-aware time."""
    if _on_spark(time):
        return time.date()
    us = _duckdb_epoch_us(time)
    per_day = ibis.literal(_US_PER_DAY, "int64")
    floored = us - ((us % per_day) + per_day) % per_day  # a whole number of days
    return _duckdb_add_days(ibis.literal(_EPOCH), _duckdb_divide(floored, per_day).cast("int32"))


@ibis.udf.scalar.builtin(name="unix_date")
def _spark_unix_date(day: dt.date) -> int:
    """Spark's days since 1970-01-01."""


def day_number(time: ibis.Value) -> ibis.Value:
    """The UTC day of a zone-aware time as days since 1970-01-01 (floored), an integer: the
    cheapest key to group by (the pass turns it into a date on its few grouped rows)."""
    if _on_spark(time):
        return _spark_unix_date(time.date()).cast("int64")
    us = _duckdb_epoch_us(time)
    per_day = ibis.literal(_US_PER_DAY, "int64")
    return _duckdb_divide(us - ((us % per_day) + per_day) % per_day, per_day)


def monday_number(day: ibis.Value) -> ibis.Value:
    """The Monday of a day number's ISO week, as a day number (1970-01-01 was a Thursday,
    three days after its Monday)."""
    return day - ((day % 7) + 7 + 3) % 7
