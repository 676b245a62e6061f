"""Is the backend in production? What the connector package itself shows.

Evidence, each a line a person can check against the files:
- a host label or base-path segment that names a non-production environment (staging,
  stage, dev, test, qa, uat, sandbox, preview, beta) — a label, not the top-level domain:
  `api.example.dev` is a production host on the `.dev` TLD;
- a `-preview`/`beta` API version in an operation path or a parameter default;
- a placeholder host that a `dynamichosturl` / `routerequesttoendpoint` policy replaces:
  then the policy's URL template is what counts (expanded over the connection parameter's
  allowed values when it has them); a template whose scheme and host are all run-time
  expressions (`@connectionParameters('url')`: the user types the whole URL) leaves no
  host to judge, while the literal labels of one like `https://{tenant}.example-dev.com`
  are still judged;
- plain `http`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from .loader import PROPERTIES, SCRIPT, SWAGGER, Package
from .operations import operations
from .positions import pointer

NON_PRODUCTION = ("staging", "stage", "dev", "test", "qa", "uat", "sandbox", "preview", "beta")
# Well-known production hosts whose labels happen to be one of the words above.
KNOWN_PRODUCTION_HOSTS = frozenset({"dev.azure.com"})
# RFC 2606 names and Microsoft's documentation companies: never a real backend.
PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org", "contoso.com", "fabrikam.com")
PLACEHOLDER_TLDS = ("example", "invalid", "localhost", "test")
HOST_POLICIES = ("dynamichosturl", "routerequesttoendpoint")
# 2021-10-01-preview, v1beta, 1.0-beta2, v2.1-preview, v3alpha
API_VERSION = re.compile(
    r"^(?:v?\d+(?:\.\d+)*|\d{4}-\d{2}-\d{2})[-._]?(?:preview|beta|alpha)(?:[-._]?\d+)?$",
    re.IGNORECASE,
)
# `@connectionParameters('x')` or `@{connectionParameters('x')}`: a value the template takes.
_EXPRESSION = re.compile(r"@(\w+)\('([^']*)'\)|@\{(\w+)\('([^']*)'\)\}")
# Any run-time part of a template: `@f('a', 'b')`, `@{…}`, or a `{name}` placeholder.
_RUNTIME = re.compile(r"@\{[^}]*\}|@\w+\((?:[^()']|'[^']*')*\)|\{[^}]*\}")
MAX_EXPANSIONS = 32


@dataclass(frozen=True)
class Clue:
    """One piece of evidence and where it is."""

    kind: str  # host, base-path, api-version, placeholder, dynamic-host, scheme, policy
    text: str
    file: str
    pointer: str
    non_production: bool = False


@dataclass
class BackendEvidence:
    """What the package says about its backend. `production` is None when it cannot tell."""

    hosts: list[str]
    production: bool | None
    evidence: list[str]
    clues: list[Clue] = field(default_factory=list, repr=False)

    def to_json(self) -> dict:
        return {"hosts": self.hosts, "production": self.production, "evidence": self.evidence}

    @property
    def summary(self) -> str:
        if self.production is True:
            return "the package shows a production backend"
        if self.production is False:
            return "the package shows a non-production backend"
        return "the package does not show whether the backend is in production"


def _tokens(part: str) -> list[str]:
    return [t for t in re.split(r"[-_]", part.lower()) if t]


def non_production_word(part: str) -> str | None:
    """The non-production word that `part` (a host label or path segment) is made of."""
    return next((t for t in _tokens(part) if t in NON_PRODUCTION), None)


def is_placeholder(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.rsplit(".", 1)[-1] in PLACEHOLDER_TLDS:
        return True
    return any(host == d or host.endswith("." + d) for d in PLACEHOLDER_DOMAINS)


def _host_clues(host: str, where: str, file: str, at: str) -> list[Clue]:
    bare = host.split(":", 1)[0].lower().rstrip(".")
    if is_placeholder(bare):
        return [Clue("placeholder", f"host {host}{where} is a placeholder name", file, at)]
    if bare in KNOWN_PRODUCTION_HOSTS:
        return []
    clues = []
    for label in bare.split(".")[:-1]:  # the top-level domain is not an environment
        word = non_production_word(label)
        if word:
            clues.append(
                Clue(
                    "host",
                    f"host {host}{where}: label '{label}' names a {word} environment",
                    file,
                    at,
                    non_production=True,
                )
            )
    return clues


def _segment_clues(path: str, what: str, file: str, at: str, environment: bool) -> list[Clue]:
    clues = []
    for segment in path.split("/"):
        if not segment or segment.startswith("{"):
            continue
        if API_VERSION.match(segment) or segment.lower() == "beta":
            clues.append(
                Clue(
                    "api-version",
                    f"{what} {path}: API version '{segment}' is not a stable release",
                    file,
                    at,
                    non_production=True,
                )
            )
        elif environment and non_production_word(segment):
            word = non_production_word(segment)
            clues.append(
                Clue(
                    "base-path",
                    f"{what} {path}: segment '{segment}' names a {word} environment",
                    file,
                    at,
                    non_production=True,
                )
            )
    return clues


@dataclass
class _HostPolicy:
    template_id: str
    title: str
    url: str  # a URL template, or a path for routerequesttoendpoint
    operations: list[str] | None  # None: every operation
    at: str


def host_policies(package: Package) -> list[_HostPolicy]:
    """The policies in apiProperties.json that change where requests go."""
    instances = ((package.properties or {}).get("properties") or {}).get("policyTemplateInstances")
    found = []
    for index, instance in enumerate(instances if isinstance(instances, list) else []):
        if not isinstance(instance, dict):
            continue
        template = str(instance.get("templateId", "")).lower()
        if template not in HOST_POLICIES:
            continue
        parameters = (
            instance.get("parameters") if isinstance(instance.get("parameters"), dict) else {}
        )
        key = (
            "x-ms-apimTemplateParameter.urlTemplate"
            if template == "dynamichosturl"
            else "x-ms-apimTemplateParameter.newPath"
        )
        url = parameters.get(key)
        if not isinstance(url, str) or not url:
            continue
        names = parameters.get("x-ms-apimTemplate-operationName")
        found.append(
            _HostPolicy(
                template,
                str(instance.get("title", template)),
                url,
                [n for n in names if isinstance(n, str)] if isinstance(names, list) else None,
                pointer("properties", "policyTemplateInstances", index),
            )
        )
    return found


def _allowed_values(package: Package, name: str) -> list[str] | None:
    parameters = ((package.properties or {}).get("properties") or {}).get("connectionParameters")
    parameter = parameters.get(name) if isinstance(parameters, dict) else None
    constraints = ((parameter or {}).get("uiDefinition") or {}).get("constraints") or {}
    allowed = constraints.get("allowedValues")
    if not isinstance(allowed, list):
        return None
    values = [v.get("value") for v in allowed if isinstance(v, dict)]
    return [v for v in values if isinstance(v, str)] or None


def expand_template(package: Package, template: str) -> list[str]:
    """The URLs a template can become: `@connectionParameters('x')` over x's allowed values.

    Expressions with no known values (a query parameter, a free-text connection parameter)
    stay as they are written.
    """
    matches = list(_EXPRESSION.finditer(template))
    choices: list[list[str]] = []
    for match in matches:
        kind, name = match.group(1) or match.group(3), match.group(2) or match.group(4)
        values = _allowed_values(package, name) if kind == "connectionParameters" else None
        choices.append(values or [match.group()])
    if not matches:
        return [template]
    urls = []
    for combination in itertools.islice(itertools.product(*choices), MAX_EXPANSIONS):
        text, end = "", 0
        for match, value in zip(matches, combination, strict=True):
            text += template[end : match.start()] + value
            end = match.end()
        urls.append(text + template[end:])
    return urls


def _is_dynamic(host: str) -> bool:
    return "@" in host or "{" in host


def _masked(template: str) -> str:
    """`template` with every run-time part blanked out (same length), so a '/' or '://'
    inside an expression is not taken for the template's own."""
    return _RUNTIME.sub(lambda m: "\0" * len(m.group()), template)


def _sets_url(template: str) -> bool:
    """Whether a policy template is a URL (it sets the host), not a path on the same host.

    A template that starts with a run-time expression gets its scheme and host from it.
    """
    masked = _masked(template)
    return "://" in masked or masked.startswith("\0")


def _url_parts(url: str) -> tuple[str, str, str]:
    """(scheme, host, path) of a URL template; scheme is '' when an expression supplies it."""
    masked = _masked(url)
    if "://" in masked:
        scheme, start = url[: masked.index("://")], masked.index("://") + 3
    else:
        scheme, start = "", 0

    def first(chars: str, after: int) -> int:
        return next((i for i in range(after, len(masked)) if masked[i] in chars), len(masked))

    host_end = first("/?#", start)
    return scheme, url[start:host_end], url[host_end : first("?#", host_end)]


def _run_time_host_clues(host: str, scheme: str, where: str, at: str) -> list[Clue]:
    """A host made at run time: judged on its literal labels, if it keeps any."""
    bare = _masked(host).split(":", 1)[0].rstrip(".")  # the port is not a label
    labels = [label for label in re.sub("\0+", ".", bare).split(".") if label]
    if not labels:
        if scheme:
            text = f"host {host}{where} is chosen at run time: the package cannot show it"
        else:
            names = re.findall(r"connectionParameters\('([^']*)'", host)
            source = (
                "connection parameter " + ", ".join(repr(n) for n in names)
                if names
                else f"the run-time value {host}"
            )
            text = f"{source} supplies the whole URL{where}: the package cannot show the backend"
        return [Clue("dynamic-host", text, PROPERTIES, at)]
    clues = [
        Clue(
            "dynamic-host",
            f"host {host}{where} is chosen at run time: the package cannot show it",
            PROPERTIES,
            at,
        )
    ]
    if not bare.endswith("\0"):
        labels = labels[:-1]  # the host ends in literal text: its last label is the TLD
    for label in labels:
        word = non_production_word(label)
        if word:
            clues.append(
                Clue(
                    "host",
                    f"host {host}{where}: label '{label}' names a {word} environment",
                    PROPERTIES,
                    at,
                    non_production=True,
                )
            )
    return clues


def backend_evidence(package: Package) -> BackendEvidence:
    """The hosts the connector calls, and whether the package shows them in production."""
    swagger = package.swagger
    if swagger is None:
        return BackendEvidence(
            [],
            None,
            [f"{SWAGGER} is not readable Swagger 2.0: the backend cannot be judged from it"],
        )
    ops = operations(package)
    clues: list[Clue] = []
    hosts: list[str] = []

    policies = host_policies(package)
    url_policies = [p for p in policies if _sets_url(p.url)]
    everywhere = any(p.operations is None for p in url_policies)
    covered = {name for p in url_policies for name in p.operations or []}
    uses_swagger_host = not everywhere and (
        not ops or any(op.operation_id not in covered for op in ops)
    )

    host = swagger.get("host")
    if isinstance(host, str) and host:
        if uses_swagger_host:
            hosts.append(host)
            clues += _host_clues(host, "", SWAGGER, "/host")
        else:
            setters = " and ".join(sorted({f"{p.template_id} '{p.title}'" for p in url_policies}))
            clues.append(
                Clue(
                    "policy",
                    f"host {host} is not used: the policy {setters} sets the host",
                    SWAGGER,
                    "/host",
                )
            )
    elif uses_swagger_host:
        clues.append(
            Clue(
                "dynamic-host", "no host in the definition: the caller's host is used", SWAGGER, ""
            )
        )

    base_path = swagger.get("basePath")
    if isinstance(base_path, str):
        clues += _segment_clues(base_path, "basePath", SWAGGER, "/basePath", environment=True)

    for policy in policies:
        where = f" ({policy.template_id} policy '{policy.title}')"
        sets_url = _sets_url(policy.url)
        for url in expand_template(package, policy.url):
            if not sets_url:  # routerequesttoendpoint to a new path on the same host
                clues += _segment_clues(url, "policy path", PROPERTIES, policy.at, False)
                continue
            scheme, policy_host, path = _url_parts(url)
            if scheme.lower() == "http":
                clues.append(Clue("scheme", f"{url}{where} uses plain http", PROPERTIES, policy.at))
            if policy_host not in hosts:
                hosts.append(policy_host)
            if _is_dynamic(policy_host):
                clues += _run_time_host_clues(policy_host, scheme, where, policy.at)
            else:
                clues += _host_clues(policy_host, where, PROPERTIES, policy.at)
            clues += _segment_clues(path, "policy URL path", PROPERTIES, policy.at, True)

    seen_segments: set[str] = set()
    for op in ops:
        for clue in _segment_clues(op.path, "path", SWAGGER, op.at, environment=False):
            if clue.text not in seen_segments:
                seen_segments.add(clue.text)
                clues.append(clue)

    defaults: dict[str, list[str]] = {}
    for op in ops:
        for parameter in op.parameters:
            default = parameter.value.get("default")
            if isinstance(default, str) and API_VERSION.match(default.strip()):
                label = op.name + (" (deprecated)" if op.deprecated else "")
                defaults.setdefault(parameter.at, []).append(label)
    for at, users in defaults.items():
        parameter = package.get(at)
        clues.append(
            Clue(
                "api-version",
                f"parameter {parameter.get('name')} defaults to API version "
                f"'{parameter['default']}' (#{at}), used by {', '.join(users)}",
                SWAGGER,
                at + "/default",
                non_production=True,
            )
        )

    schemes = swagger.get("schemes")
    if isinstance(schemes, list) and "http" in schemes and uses_swagger_host:
        clues.append(
            Clue(
                "scheme",
                "schemes include plain http: requests may travel unencrypted",
                SWAGGER,
                f"/schemes/{schemes.index('http')}",
            )
        )

    placeholders = [c for c in clues if c.kind == "placeholder"]
    if placeholders and SCRIPT in package.files:
        clues = [
            Clue(
                c.kind, c.text + f"; {SCRIPT} may set the real host at run time", c.file, c.pointer
            )
            if c.kind == "placeholder"
            else c
            for c in clues
        ]

    concrete = [h for h in hosts if not _is_dynamic(h) and not is_placeholder(h.split(":", 1)[0])]
    if any(c.non_production for c in clues):
        production: bool | None = False
    elif concrete:
        production = True
        clues.append(
            Clue(
                "verdict",
                f"{', '.join(concrete)}: no non-production label, base path or API version",
                SWAGGER,
                "",
            )
        )
    else:
        production = None
    return BackendEvidence(hosts, production, [c.text for c in clues], clues)


def package_backend(config) -> BackendEvidence | None:
    """The evidence of the package that ga.toml's [connector] package names, if it names one.

    The path is relative to the ga.toml folder. A path that is not a package is an InputError.
    """
    from ..errors import InputError
    from .loader import load_package

    if config is None or not config.connector.package:
        return None
    try:
        package = load_package(config.base_dir / config.connector.package)
    except InputError as exc:
        raise InputError(
            f"{config.source} [connector] package = {config.connector.package!r}: {exc.message}"
        ) from None
    return backend_evidence(package)
