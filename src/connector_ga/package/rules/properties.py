"""apiProperties.json: brand colour, policy templates, connection parameters, script operations."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..findings import Finding
from ..loader import PROPERTIES
from ..positions import pointer
from . import Context

# The default colour and white are refused for verified publishers (certification submission
# page); independent publishers must use #da3b01.
REFUSED_COLOURS = ("#007ee5", "#ffffff")
INDEPENDENT_COLOUR = "#da3b01"
INDEPENDENT_TITLE = re.compile(r"\(\s*independent publisher\s*\)", re.IGNORECASE)
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
# The templates of microsoft/PowerPlatformConnectors schemas/paconn-apiProperties.schema.json.
POLICY_TEMPLATES = (
    "convertarraytoobject",
    "convertobjecttoarray",
    "dynamichosturl",
    "encodepropertyvalue",
    "pollingtrigger",
    "routerequesttoendpoint",
    "setheader",
    "setproperty",
    "setqueryparameter",
    "setvaluefromurl",
    "stringreplace",
    "stringtoarray",
    "updatenextlink",
)
REQUIRED_TEMPLATE_PARAMETERS = {
    "dynamichosturl": ("x-ms-apimTemplateParameter.urlTemplate",),
    "routerequesttoendpoint": ("x-ms-apimTemplateParameter.newPath",),
    "setheader": ("x-ms-apimTemplateParameter.name", "x-ms-apimTemplateParameter.value"),
    "setqueryparameter": ("x-ms-apimTemplateParameter.name", "x-ms-apimTemplateParameter.value"),
    "updatenextlink": ("x-ms-apimTemplateParameter.nextLinkPropertyName",),
}
# ConnectionParameterType of the Microsoft.Web custom API model, and the on-premises gateway.
CONNECTION_PARAMETER_TYPES = (
    "string",
    "securestring",
    "secureobject",
    "int",
    "bool",
    "object",
    "array",
    "oauthSetting",
    "connection",
    "gatewaySetting",
)


def _colour(ctx: Context, properties: dict) -> Iterator[Finding]:
    package = ctx.package
    at = "/properties/iconBrandColor"
    colour = properties.get("iconBrandColor")
    if colour is None:
        yield package.finding(
            "RequiredPropertyMissing",
            "error",
            PROPERTIES,
            at,
            "properties.iconBrandColor is missing",
            'set "iconBrandColor" to your brand colour, e.g. "#3c1d6e"',
        )
        return
    if not isinstance(colour, str) or not _COLOUR.match(colour):
        yield package.finding(
            "IconBrandColorNotValid",
            "error",
            PROPERTIES,
            at,
            f"iconBrandColor {colour!r} is not a colour like #3c1d6e",
            "give the colour as # and six hexadecimal digits",
        )
        return
    independent = bool(INDEPENDENT_TITLE.search(package.title or ""))
    if independent and colour.lower() != INDEPENDENT_COLOUR:
        yield package.finding(
            "IconBrandColorNotAllowed",
            "error",
            PROPERTIES,
            at,
            f"iconBrandColor {colour}: independent publishers must use {INDEPENDENT_COLOUR}",
            f'set "iconBrandColor": "{INDEPENDENT_COLOUR}"',
        )
    elif not independent and colour.lower() in REFUSED_COLOURS:
        yield package.finding(
            "IconBrandColorNotAllowed",
            "error",
            PROPERTIES,
            at,
            f"iconBrandColor {colour} is "
            + ("white" if colour.lower() == "#ffffff" else "the default colour")
            + ", which certification refuses",
            "use your brand colour, matching the icon's background",
        )


def _operation_names(ctx: Context) -> dict[str, str]:
    """operationId by its lower-case form, for references from apiProperties.json."""
    return {op.operation_id.lower(): op.operation_id for op in ctx.operations if op.operation_id}


def _referenced_operation(ctx: Context, name: str, at: str, what: str) -> Iterator[Finding]:
    if ctx.package.swagger is None:
        return  # nothing to look the name up in
    ids = _operation_names(ctx)
    if name in ids.values():
        return
    near = ids.get(name.lower())
    yield ctx.package.finding(
        "OperationIdNotFound",
        "warning" if near else "error",
        PROPERTIES,
        at,
        f"{what} names operation '{name}', "
        + (
            f"which matches '{near}' only when letter case is ignored"
            if near
            else "which is not in apiDefinition.swagger.json"
        ),
        f"write '{near}'" if near else "use an operationId from apiDefinition.swagger.json",
    )


def _policies(ctx: Context, properties: dict) -> Iterator[Finding]:
    instances = properties.get("policyTemplateInstances")
    for index, instance in enumerate(instances if isinstance(instances, list) else []):
        at = pointer("properties", "policyTemplateInstances", index)
        if not isinstance(instance, dict):
            continue
        template = instance.get("templateId")
        if not isinstance(template, str) or template.lower() not in POLICY_TEMPLATES:
            yield ctx.package.finding(
                "PolicyTemplateUnknown",
                "error",
                PROPERTIES,
                at + "/templateId",
                f"policy template {template!r} is not a known template",
                "use one of: " + ", ".join(POLICY_TEMPLATES),
            )
            continue
        parameters = (
            instance.get("parameters") if isinstance(instance.get("parameters"), dict) else {}
        )
        for name in REQUIRED_TEMPLATE_PARAMETERS.get(template.lower(), ()):
            if parameters.get(name) in (None, ""):
                yield ctx.package.finding(
                    "PolicyTemplateParameterMissing",
                    "error",
                    PROPERTIES,
                    at + "/parameters",
                    f"policy '{instance.get('title', template)}' ({template}) has no {name}",
                    f"add {name} to the policy's parameters",
                )
        names = parameters.get("x-ms-apimTemplate-operationName")
        for position, name in enumerate(names if isinstance(names, list) else []):
            if isinstance(name, str):
                yield from _referenced_operation(
                    ctx,
                    name,
                    f"{at}/parameters/x-ms-apimTemplate-operationName/{position}",
                    f"policy '{instance.get('title', template)}'",
                )


def _connection_parameters(ctx: Context, properties: dict) -> Iterator[Finding]:
    parameters = properties.get("connectionParameters")
    for name, parameter in parameters.items() if isinstance(parameters, dict) else []:
        kind = parameter.get("type") if isinstance(parameter, dict) else None
        if kind not in CONNECTION_PARAMETER_TYPES:
            yield ctx.package.finding(
                "ConnectionParameterTypeNotValid",
                "error",
                PROPERTIES,
                pointer("properties", "connectionParameters", name, "type"),
                f"connection parameter '{name}' has type {kind!r}",
                "use one of: " + ", ".join(CONNECTION_PARAMETER_TYPES),
            )


def check(ctx: Context) -> Iterator[Finding]:
    data = ctx.package.properties
    if data is None:
        return
    properties = data.get("properties")
    if not isinstance(properties, dict):
        yield ctx.package.finding(
            "RequiredPropertyMissing",
            "error",
            PROPERTIES,
            "/properties",
            "apiProperties.json has no 'properties' object",
            'put the settings in {"properties": {…}}',
        )
        return
    yield from _colour(ctx, properties)
    yield from _policies(ctx, properties)
    yield from _connection_parameters(ctx, properties)
    operations = properties.get("scriptOperations")
    for index, name in enumerate(operations if isinstance(operations, list) else []):
        if isinstance(name, str):
            yield from _referenced_operation(
                ctx, name, f"/properties/scriptOperations/{index}", "scriptOperations"
            )
