"""Host, base path and schemes, and what they say about the backend being in production."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..findings import Finding
from ..loader import SCRIPT, SWAGGER
from . import Context

_HOST = re.compile(
    r"^(?=.{1,253}(:|$))[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?(?::\d{1,5})?$"
)


def _definition(ctx: Context) -> Iterator[Finding]:
    swagger, package = ctx.package.swagger, ctx.package
    host = swagger.get("host")
    if isinstance(host, str) and not _HOST.match(host):
        yield package.finding(
            "HostNameNotValid",
            "error",
            SWAGGER,
            "/host",
            f"host '{host}' is not a bare host name (no scheme, no path)",
            "write only the host name, e.g. api.contoso.com; put any path in basePath",
        )
    base_path = swagger.get("basePath")
    if isinstance(base_path, str) and not base_path.startswith("/"):
        yield package.finding(
            "BasePathNotValid",
            "error",
            SWAGGER,
            "/basePath",
            f"basePath '{base_path}' does not start with '/'",
            "start the basePath with '/'",
        )
    schemes = swagger.get("schemes")
    if not isinstance(schemes, list):
        return
    if not schemes:
        yield package.finding(
            "SchemesArrayEmpty",
            "error",
            SWAGGER,
            "/schemes",
            "the schemes array is empty",
            'set "schemes": ["https"]',
        )
    for index, scheme in enumerate(schemes):
        at = f"/schemes/{index}"
        if scheme in ("ws", "wss"):
            yield package.finding(
                "SchemeNotSupported",
                "error",
                SWAGGER,
                at,
                f"scheme '{scheme}': WebSocket schemes are not supported",
                'use "https"',
            )
        elif scheme not in ("http", "https"):
            yield package.finding(
                "SchemeNotValid",
                "error",
                SWAGGER,
                at,
                f"scheme {scheme!r} is not http or https",
                'use "https"',
            )


def _backend(ctx: Context) -> Iterator[Finding]:
    package = ctx.package
    for clue in ctx.backend.clues:
        if clue.kind in ("host", "base-path"):
            yield package.finding(
                "BackendNotProduction",
                "error",
                clue.file,
                clue.pointer,
                clue.text,
                "point the connector at the production host and path: staging, dev and test "
                "hosts are not allowed",
            )
        elif clue.kind == "api-version":
            yield package.finding(
                "PreviewApiVersion",
                "warning",
                clue.file,
                clue.pointer,
                clue.text,
                "call the generally available API version before moving the connector to GA",
            )
        elif clue.kind == "scheme":
            yield package.finding(
                "InsecureScheme",
                "warning",
                clue.file,
                clue.pointer,
                clue.text,
                'offer https only: "schemes": ["https"]',
            )
        elif clue.kind == "placeholder":
            yield package.finding(
                "HostIsPlaceholder",
                "info" if SCRIPT in package.files else "warning",
                clue.file,
                clue.pointer,
                clue.text,
                "name the production host, or set it with a dynamichosturl policy",
            )
        elif clue.kind == "dynamic-host":
            yield package.finding(
                "DynamicHost",
                "info",
                clue.file,
                clue.pointer,
                clue.text,
                "declare the backend's status in ga.toml [backend] with evidence",
            )
    if ctx.preview.connector == "Production" and ctx.backend.production is False:
        yield package.finding(
            "ProductionStatusOnBetaService",
            "error",
            SWAGGER,
            "/info/x-ms-api-annotation/status",
            "the connector is marked Production but its backend is not in production: "
            + "; ".join(c.text for c in ctx.backend.clues if c.non_production),
            "call production backend APIs only, or set the connector status to Preview",
        )


def check(ctx: Context) -> Iterator[Finding]:
    yield from _definition(ctx)
    yield from _backend(ctx)
