"""Other clouds: check each sovereign-cloud endpoint of ga.toml `[clouds]` and write one
edition of the package per cloud, with the public host replaced by the cloud's.

An edition changes, in place (see `jsontext`):
- `host` in apiDefinition.swagger.json → the endpoint's host (and port, if any);
- `basePath` → the endpoint's path, when the endpoint has one (added after `host` if the
  package had no `basePath`);
- in apiProperties.json `policyTemplateInstances[*].parameters`, every string that holds
  the public host (e.g. a `dynamichosturl` `urlTemplate` such as
  `https://api.contoso.com/v1`) → the cloud's host, and, when the endpoint has a path, the
  public base path right after that host → the endpoint's path.

Nothing else changes. What may still need a hand is reported rather than guessed: the
public host left in other values (OAuth URLs, metadata), in `script.csx`, and
`dynamichosturl` templates that build the host from the connection at run time.
Run `promote` first and `clouds` on its output for GA editions of each cloud.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..config import GaConfig
from ..errors import InputError
from .editions import (
    PROPERTIES,
    SWAGGER,
    Change,
    EditablePackage,
    check_out_dir,
    write_atomically,
)
from .findings import Finding, Severity
from .jsontext import JsonText, Node, pointer_token

GOVERNMENT_CLOUDS = ("gcc", "gcc-high", "dod", "azure-government")
SOVEREIGN_CLOUDS = (*GOVERNMENT_CLOUDS, "mooncake")
# US government hosts: the .us TLD (azure.us, microsoft.us, appsplatform.us), Azure
# Government's usgovcloudapi.net, and the .gov / .mil TLDs of agencies themselves.
GOVERNMENT_SUFFIXES = (".us", ".usgovcloudapi.net", ".gov", ".mil")
# Azure operated by 21Vianet: the .cn TLD (chinacloudapi.cn, azure.cn, chinacloudapp.cn).
CHINA_SUFFIXES = (".cn",)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CODE_FILES = (".csx",)  # custom code may call the backend by its host


@dataclass
class CloudEdition:
    """One cloud: its endpoint, the checks, the changes, and where the edition went."""

    cloud: str
    endpoint: str
    findings: list[Finding] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    diff: str = ""
    path: Path | None = None  # the written edition; None when not written

    @property
    def ok(self) -> bool:
        """No error: the endpoint is usable and an edition can be written."""
        return not any(finding.severity == "error" for finding in self.findings)

    @property
    def diff_name(self) -> str:
        return f"{self.cloud}-edition.diff"


@dataclass
class CloudsResult:
    package: Path
    out_dir: Path | None
    editions: list[CloudEdition]

    @property
    def ok(self) -> bool:
        return all(edition.ok for edition in self.editions)


# --- endpoint checks ----------------------------------------------------------------------


def _on_suffix(host: str, suffixes: tuple[str, ...]) -> bool:
    return any(f".{host}".endswith(suffix) for suffix in suffixes)


def _host_problem(host: str) -> tuple[str, str] | None:
    """(rule, why) when `host` is not a public host name a cloud can reach."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return "CloudEndpointIpAddress", "is an IP address, not a host name"
    if host == "localhost" or host.endswith(".localhost"):
        return "CloudEndpointLocalhost", "is this computer, not a backend the cloud can reach"
    labels = host.split(".")
    if len(labels) < 2 or labels[-1].isdigit() or not all(map(_LABEL.match, labels)):
        return "CloudEndpointHostNameNotValid", "is not a valid public host name"
    return None


def check_endpoint(cloud: str, url: str) -> list[Finding]:
    """Check one cloud endpoint: an https URL of a host name (not an IP, not localhost) with
    no credentials, query or fragment; warn when the host is outside the cloud's domains.

    Findings point at the `[clouds]` key of ga.toml (`/clouds/<cloud>`).
    """
    findings: list[Finding] = []

    def found(rule: str, severity: Severity, message: str, fix: str) -> None:
        where = ("ga.toml", f"/clouds/{cloud}", None, None)
        findings.append(Finding(rule, severity, *where, f"{cloud}: {message}", fix))

    example = "https://api.contoso.cn" if cloud == "mooncake" else "https://api.contoso.us"
    fix = f"set [clouds] {cloud} to the backend's URL in that cloud, e.g. {example}"
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError as exc:
        found("CloudEndpointNotUrl", "error", f"{url!r} is not a valid URL ({exc})", fix)
        return findings
    host = parts.hostname or ""
    if not parts.scheme or not host:
        found("CloudEndpointNotUrl", "error", f"{url!r} is not an absolute URL", fix)
        return findings
    if parts.scheme.lower() != "https":
        message = f"{url} uses {parts.scheme}; connectors call their backend over https"
        found("CloudEndpointNotHttps", "error", message, "declare the https:// URL")
    if parts.username is not None or parts.password is not None:
        message = "the URL holds a user name or password"
        found("CloudEndpointHasCredentials", "error", message, "use the connection's auth")
    if parts.query or parts.fragment:
        message = f"{url} has a query or fragment, which a host and base path cannot hold"
        found("CloudEndpointHasQuery", "error", message, "declare only https://host/path")
    problem = _host_problem(host)
    if problem is not None:
        rule, why = problem
        found(rule, "error", f"{host} {why}", fix)
        return findings
    if cloud in GOVERNMENT_CLOUDS and not _on_suffix(host, GOVERNMENT_SUFFIXES):
        found(
            "GovernmentCloudHost",
            "warning",
            f"{host} is not a US government host (.us, usgovcloudapi.net, .gov, .mil); is "
            "this backend really deployed in the government cloud?",
            "declare the backend's government deployment, e.g. https://api.contoso.us",
        )
    if cloud == "mooncake" and not _on_suffix(host, CHINA_SUFFIXES):
        found(
            "MooncakeHost",
            "warning",
            f"{host} is not a China host (.cn, chinacloudapi.cn); is this backend really "
            "deployed in Azure operated by 21Vianet?",
            "declare the backend's China deployment, e.g. https://api.contoso.cn",
        )
    return findings


# --- one cloud's edition ------------------------------------------------------------------


def _root(path: str | None) -> str:
    """A base path as a prefix: "/" and "" → "", "/api/" → "/api"."""
    return (path or "").rstrip("/")


class _HostRewrite:
    """Replace the public host (and base path right after it) in a string."""

    def __init__(self, public_host: str, public_base: str | None, host: str, path: str | None):
        self.pattern = re.compile(
            r"(?<![\w.-])" + re.escape(public_host) + r"(?![\w-]|\.\w)", re.IGNORECASE
        )
        self.public_root = _root(public_base)
        self.host = host
        self.root = _root(path) if path else None

    def holds_host(self, text: str) -> bool:
        return bool(self.pattern.search(text))

    def __call__(self, text: str) -> str:
        out, pos = [], 0
        for match in self.pattern.finditer(text):
            out += [text[pos : match.start()], self.host]
            pos = match.end()
            tail = text[pos:]
            if self.root is not None and tail.startswith(self.public_root):
                after = tail[len(self.public_root) : len(self.public_root) + 1]
                if after in ("", "/", "?", "#", "'", '"'):
                    out.append(self.root)
                    pos += len(self.public_root)
        out.append(text[pos:])
        return "".join(out)


class _CloudEdition:
    def __init__(self, package: EditablePackage, cloud: str, endpoint: str) -> None:
        self.package = package
        self.edition = CloudEdition(cloud, endpoint)
        self.touched: set[tuple[str, str]] = set()

    def note(
        self,
        rule: str,
        severity: Severity,
        message: str,
        fix: str = "",
        doc: JsonText | str | None = None,
        pointer: str = "",
        node: Node | None = None,
    ) -> None:
        """A finding about the package (in `doc`, at `pointer`) for this cloud."""
        name = Path(doc.name).name if isinstance(doc, JsonText) else doc or ""
        line, column = (None, None)
        if isinstance(doc, JsonText) and node is not None:
            line, column = doc.position_of(node.start)
        message = f"{self.edition.cloud}: {message}"
        self.edition.findings.append(
            Finding(rule, severity, name, pointer, line, column, message, fix)
        )

    def change(self, doc: JsonText, node: Node, pointer: str, before, after, reason: str):
        name = Path(doc.name).name
        self.touched.add((name, pointer))
        line = doc.line_of(node.start)
        self.edition.changes.append(Change(name, pointer, line, before, after, reason))

    def plan(self) -> CloudEdition:
        cloud, endpoint = self.edition.cloud, self.edition.endpoint
        self.edition.findings += check_endpoint(cloud, endpoint)
        if not self.edition.ok:
            return self.edition
        swagger = self.package.swagger
        host_node = swagger.root.get("host") if swagger.root.kind == "object" else None
        if host_node is None or not host_node.is_string() or not host_node.value.strip():
            self.note(
                "PackageHasNoHost",
                "error",
                f"{SWAGGER} has no host to replace with the endpoint",
                "set `host` to the public backend host",
                swagger,
                "/host",
            )
            return self.edition
        parts = urlsplit(endpoint.strip())
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        path = parts.path if parts.path not in ("", "/") else None
        base_node = swagger.root.get("basePath")
        public_base = base_node.value if base_node is not None and base_node.is_string() else None
        rewrite = _HostRewrite(host_node.value.strip(), public_base, host, path)

        if host.lower() != host_node.value.strip().lower():
            swagger.set_string(host_node, host)
            self.change(swagger, host_node, "/host", host_node.value, host, "host")
        if path is not None and path != public_base:
            if base_node is not None:
                swagger.set_string(base_node, path)
                self.change(swagger, base_node, "/basePath", public_base, path, "base path")
            else:
                members = swagger.root.members
                at = next(i for i, m in enumerate(members) if m.value is host_node)
                before = members[at + 1] if at + 1 < len(members) else None  # after host
                swagger.insert_member(swagger.root, "basePath", path, before=before)
                self.change(swagger, host_node, "/basePath", None, path, "base path (added)")
        self._check_schemes(swagger)
        self._rewrite_policy_templates(rewrite)
        if not self.edition.changes:
            self.note(
                "CloudEndpointSameAsPublic",
                "info",
                f"{endpoint} is the package's own host: the edition is unchanged",
                "",
                swagger,
                "/host",
                host_node,
            )
        else:
            self._report_remaining(rewrite)
        self.edition.diff = self.package.diff()
        return self.edition

    def _check_schemes(self, swagger: JsonText) -> None:
        schemes = swagger.root.get("schemes")
        if schemes is None or schemes.kind != "array":
            return
        values = [item.value for item in schemes.items if item.is_string()]
        if "https" not in values:
            self.note(
                "PackageSchemeNotHttps",
                "warning",
                f"schemes {values} lack https, the endpoint's scheme",
                'set "schemes": ["https"]',
                swagger,
                "/schemes",
                schemes,
            )

    def _templates(self) -> list[tuple[str, Node]]:
        props = self.package.json(PROPERTIES)
        if props is None or props.root.kind != "object":
            return []
        properties = props.root.get("properties")
        instances = properties.get("policyTemplateInstances") if properties else None
        if instances is None or instances.kind != "array":
            return []
        pointer = "/properties/policyTemplateInstances"
        return [(f"{pointer}/{i}", t) for i, t in enumerate(instances.items) if t.kind == "object"]

    def _rewrite_policy_templates(self, rewrite: _HostRewrite) -> None:
        props = self.package.json(PROPERTIES)
        for pointer, template in self._templates():
            template_id = template.get("templateId")
            name = template_id.value if template_id and template_id.is_string() else "?"
            parameters = template.get("parameters")
            if parameters is None or parameters.kind != "object":
                continue
            for member in parameters.members:
                where = f"{pointer}/parameters/{pointer_token(member.key)}"
                values = [(where, member.value)] + [
                    (f"{where}/{i}", item) for i, item in enumerate(member.value.items)
                ]
                for value_pointer, node in values:
                    if node.is_string() and rewrite(node.value) != node.value:
                        after = props.rewrite_string(node, rewrite)
                        reason = f"policy template {name}"
                        self.change(props, node, value_pointer, node.value, after, reason)
            url_template = parameters.get("x-ms-apimTemplateParameter.urlTemplate")
            if (
                name.lower() == "dynamichosturl"
                and url_template is not None
                and url_template.is_string()
                and not rewrite.holds_host(url_template.value)
            ):
                self.note(
                    "CloudHostSetAtRuntime",
                    "warning",
                    f"policy template dynamichosturl sets the host at run time from "
                    f"{url_template.value!r}: the endpoint does not apply to the operations "
                    "it covers",
                    f"make sure a connection in {self.edition.cloud} can reach its backend "
                    "through that template (e.g. a region value for that cloud)",
                    props,
                    f"{pointer}/parameters/x-ms-apimTemplateParameter.urlTemplate",
                    url_template,
                )

    def _report_remaining(self, rewrite: _HostRewrite) -> None:
        """The public host still written elsewhere: reported, not replaced."""
        for name in (SWAGGER, PROPERTIES):
            doc = self.package.json(name)
            if doc is None:
                continue
            left = [
                (pointer, node)
                for pointer, node in doc.walk_strings()
                if (name, pointer) not in self.touched and rewrite.holds_host(node.value)
            ]
            if left:
                pointer, node = left[0]
                self.note(
                    "PublicHostRemains",
                    "info",
                    f"the public host is still in {len(left)} other value(s) of {name}, "
                    f"first {pointer}: {node.value!r}",
                    f"check whether {self.edition.cloud} needs its own value there",
                    doc,
                    pointer,
                    node,
                )
        for name, data in sorted(self.package.files.items()):
            if name.lower().endswith(_CODE_FILES) and "/" not in name:
                text = data.decode("utf-8", errors="replace")
                if rewrite.holds_host(text):
                    self.note(
                        "PublicHostRemains",
                        "info",
                        f"{name} mentions the public host; custom code is not edited",
                        f"check whether {name} needs a {self.edition.cloud} value",
                        name,
                    )


# --- all clouds ---------------------------------------------------------------------------


def _validated(endpoints: Mapping[str, str]) -> list[tuple[str, str]]:
    unknown = sorted(set(endpoints) - set(SOVEREIGN_CLOUDS))
    if unknown:
        raise InputError(
            f"unknown cloud {unknown[0]!r}: expected one of {', '.join(SOVEREIGN_CLOUDS)}"
        )
    return [(cloud, endpoints[cloud]) for cloud in SOVEREIGN_CLOUDS if endpoints.get(cloud)]


def cloud_editions(
    package_dir: str | Path,
    endpoints: Mapping[str, str],
    out_dir: str | Path | None = None,
    *,
    overwrite: bool = False,
) -> CloudsResult:
    """Check each cloud's endpoint and prepare its edition of the package; with `out_dir`,
    write the editions that have no error to `out_dir/<cloud>/` (all at once, with
    `<cloud>-edition.diff` in each). `endpoints` maps cloud names to URLs, as
    `CloudsSection.endpoints()` of ga.toml gives them."""
    clouds = _validated(endpoints)
    package = EditablePackage(package_dir)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        check_out_dir(out, package.path, overwrite)
    _ = package.swagger  # parsed now: a broken file is one error, not one per cloud
    editions, files = [], {}
    for cloud, endpoint in clouds:
        copy = package.fresh()
        edition = _CloudEdition(copy, cloud, endpoint).plan()
        editions.append(edition)
        if edition.ok:
            for name, data in copy.edited_files().items():
                files[f"{cloud}/{name}"] = data
            files[f"{cloud}/{edition.diff_name}"] = edition.diff.encode("utf-8")
    if out is not None and files:
        write_atomically(out, files, overwrite=overwrite)
        for edition in editions:
            if edition.ok:
                edition.path = out / edition.cloud
    return CloudsResult(package.path, out, editions)


def package_dir_from_config(config: GaConfig) -> Path:
    """The package folder ga.toml names in `[connector] package`, relative to ga.toml."""
    if not config.connector.package:
        raise InputError(
            "no package: pass the package folder, or set [connector] package in ga.toml"
        )
    return config.base_dir / config.connector.package


def clouds_from_config(
    config: GaConfig,
    package_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    *,
    overwrite: bool = False,
) -> CloudsResult:
    """`cloud_editions` for the clouds ga.toml declares in `[clouds]`."""
    endpoints = config.clouds.endpoints()
    if not endpoints:
        raise InputError(
            'ga.toml declares no cloud: add e.g. `gcc-high = "https://api.contoso.us"` '
            "under [clouds]"
        )
    package = package_dir if package_dir is not None else package_dir_from_config(config)
    return cloud_editions(package, endpoints, out_dir, overwrite=overwrite)
