"""A loopback stand-in for the Azure Monitor Logs query API, for the tests of
`ingest --from azure` (issue 19).

It speaks the documented protocol over HTTPS with a self-signed certificate the test
trusts (REQUESTS_CA_BUNDLE): `POST /v1/workspaces/{id}/query` (and `/v1/{resourceId}/query`)
with `{"query", "timespan": "start/end"}`, answered `{"tables": [{"name", "columns":
[{"name", "type"}], "rows"}]}`. Rows are those of the table the query names whose
TimeGenerated falls in [start, end), filtered by a `| where Column == 'value'` if the query
has one. More than `row_limit` rows: the first `row_limit` and an `error` of code
`PartialError`, as the service does at its 500,000-row cut. `faults` is a list of statuses
(429, 503, …) answered, in turn, before any real answer. A request without the expected
bearer token gets 401.

Also `az_on_path`: a stand-in Azure CLI (`az account get-access-token`) that prints a fixed
token, so the tests use azure-identity's real AzureCliCredential and no Microsoft host.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TOKEN = "stand-in-token-not-a-secret"
WORKSPACE = "7a0c9b1e-0000-4000-8000-000000000001"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA): (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class LogsStandIn:
    """The service's state: its tables (name -> columns, rows), and how it misbehaves."""

    tables: dict[str, tuple[list[tuple[str, str]], list[dict]]] = field(default_factory=dict)
    row_limit: int = 500_000
    faults: list[int] = field(default_factory=list)
    retry_after: str | None = "0"
    asked: list[str] = field(default_factory=list)  # each timespan asked, answered or not
    answered: list[str] = field(default_factory=list)  # each timespan answered whole
    url: str = ""
    workspaces: set[str] | None = None  # the workspaces that exist (None: any)
    forbidden: bool = False  # the identity has no read access

    def add_rows(self, table: str, columns: list[tuple[str, str]], rows: list[dict]) -> None:
        known = self.tables.setdefault(table, (columns, []))
        known[1].extend(rows)

    def answer(self, path: str, body: dict, auth: str | None) -> tuple[int, dict, dict]:
        if auth != f"Bearer {TOKEN}":
            return (
                401,
                {},
                {
                    "error": {
                        "code": "InvalidAuthenticationTokenAudience",
                        "message": "The access token is missing or invalid.",
                    }
                },
            )
        if not re.fullmatch(r"/v1/(workspaces/[^/]+|/?subscriptions/.+)/query", path):
            return 404, {}, {"error": {"code": "PathNotFoundError", "message": path}}
        workspace = re.fullmatch(r"/v1/workspaces/([^/]+)/query", path)
        if workspace and self.workspaces is not None and workspace[1] not in self.workspaces:
            message = f"The workspace {workspace[1]} could not be found"
            return 404, {}, {"error": {"code": "WorkspaceNotFoundError", "message": message}}
        if self.forbidden:
            message = "The provided credentials have insufficient access to perform the request"
            return 403, {}, {"error": {"code": "InsufficientAccessError", "message": message}}
        timespan = body.get("timespan") or ""
        self.asked.append(timespan)
        if self.faults:
            status = self.faults.pop(0)
            headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
            return (
                status,
                headers,
                {
                    "error": {
                        "code": "ThrottledError" if status == 429 else "ServiceError",
                        "message": "try later",
                    }
                },
            )
        query = body.get("query", "")
        table, _, rest = query.partition("|")
        table = table.strip()
        if table not in self.tables:
            return (
                400,
                {},
                {
                    "error": {
                        "code": "BadArgumentError",
                        "message": f"Failed to resolve table '{table}'",
                    }
                },
            )
        columns, rows = self.tables[table]
        start, end = (_parse_time(t) for t in timespan.split("/"))
        picked = [r for r in rows if start <= _parse_time(r["TimeGenerated"]) < end]
        condition = re.search(r"where\s+(\w+)\s*==\s*'([^']*)'", rest)
        if condition:
            picked = [r for r in picked if r.get(condition[1]) == condition[2]]
        answer = {
            "tables": [
                {
                    "name": "PrimaryResult",
                    "columns": [{"name": n, "type": t} for n, t in columns],
                    "rows": [[r.get(n) for n, _ in columns] for r in picked[: self.row_limit]],
                }
            ]
        }
        if len(picked) > self.row_limit:
            answer["error"] = {
                "code": "PartialError",
                "message": "There were some errors when processing your query.",
                "details": [
                    {
                        "code": "EngineError",
                        "message": "Something went wrong processing your query on the server.",
                        "innererror": {
                            "code": "-2133196797",
                            "message": "Query result set has exceeded the internal record "
                            f"count limit {self.row_limit} records",
                        },
                    }
                ],
            }
        else:
            self.answered.append(timespan)
        return 200, {}, answer


def serve(state: LogsStandIn, cert: Path, key: Path):
    """Start the stand-in on 127.0.0.1 (HTTPS) in a thread; returns the server."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            status, headers, payload = state.answer(
                self.path, body, self.headers.get("Authorization")
            )
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.url = f"https://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def az_on_path(folder: Path) -> Path:
    """A stand-in `az` that prints a fixed token for `az account get-access-token`."""
    folder.mkdir(parents=True, exist_ok=True)
    az = folder / "az"
    token = json.dumps(
        {
            "accessToken": TOKEN,
            "expires_on": int(dt.datetime.now(dt.UTC).timestamp()) + 3600,
            "tokenType": "Bearer",
        }
    )
    az.write_text(f"#!/bin/sh\ncat <<'EOF'\n{token}\nEOF\n")
    az.chmod(0o755)
    return folder
