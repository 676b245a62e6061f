"""The rules of `connector-ga diff`: a stable id, a level and what breaks for whom.

The sources are Microsoft's "Implement versioning operations" (operational versioning) and
"Deprecate an operation" pages of the custom connector documentation.
"""

from __future__ import annotations

from typing import Literal

Level = Literal["breaking", "warning", "info"]
LEVELS: tuple[Level, ...] = ("breaking", "warning", "info")

VERSIONING = "https://learn.microsoft.com/connectors/custom-connectors/operational-versioning"
DEPRECATE = "https://learn.microsoft.com/connectors/custom-connectors/deprecate-operation"

# id -> (level, what breaks for whom, documentation)
DIFF_RULES: dict[str, tuple[Level, str, str]] = {
    "OperationRemoved": (
        "breaking",
        "flows and apps that call the operation fail: operational versioning says to "
        "deprecate it and add a new revision instead of removing it",
        VERSIONING,
    ),
    "OperationIdChanged": (
        "breaking",
        "flows and apps refer to an operation by its operationId: every one that uses the "
        "old id fails (operational versioning: a new operationId is a new operation)",
        VERSIONING,
    ),
    "ParameterRemoved": (
        "breaking",
        "flows that set the parameter send a value the operation no longer takes "
        "(operational versioning: removing a parameter is a breaking change)",
        VERSIONING,
    ),
    "ParameterNowRequired": (
        "breaking",
        "existing flows that never set the parameter stop validating: it is required "
        "without a default the connector supplies",
        VERSIONING,
    ),
    "ParameterTypeChanged": (
        "breaking",
        "values existing flows send no longer match the parameter's type or format",
        VERSIONING,
    ),
    "ParameterLocationChanged": (
        "breaking",
        "the parameter moved (path, query, header, body): saved flows send it where the "
        "operation no longer reads it",
        VERSIONING,
    ),
    "EnumValueRemoved": (
        "breaking",
        "flows that chose the removed value send an input the operation no longer supports",
        VERSIONING,
    ),
    "RequestPropertyNowRequired": (
        "breaking",
        "existing flows that leave the body property empty stop validating",
        VERSIONING,
    ),
    "RequestPropertyTypeChanged": (
        "breaking",
        "values existing flows put in the body property no longer match its type or format",
        VERSIONING,
    ),
    "ResponsePropertyRemoved": (
        "breaking",
        "flow steps that use the output (dynamic content) lose it and fail",
        VERSIONING,
    ),
    "ResponsePropertyTypeChanged": (
        "breaking",
        "flow steps that use the output receive a value of another type",
        VERSIONING,
    ),
    "StatusCodeRemoved": (
        "breaking",
        "flows built on the outputs of that success response lose them",
        VERSIONING,
    ),
    "TriggerKindChanged": (
        "breaking",
        "flows that start with the trigger must be rebuilt: batch/single or webhook/polling "
        "changes what fires them and what they receive",
        VERSIONING,
    ),
    "DynamicReferenceBroken": (
        "breaking",
        "the dropdown or dynamic schema of a parameter names an operation or parameter that "
        "is gone: makers see an error and saved flows cannot be edited",
        VERSIONING,
    ),
    "SecurityChanged": (
        "breaking",
        "every existing connection was made with the old authentication and stops working: "
        "users must create new connections",
        VERSIONING,
    ),
    "ConnectionParameterRemoved": (
        "breaking",
        "existing connections hold a value the connector no longer reads",
        VERSIONING,
    ),
    "ConnectionParameterRetyped": (
        "breaking",
        "existing connections hold a value of the old type",
        VERSIONING,
    ),
    "ConnectionParameterNowRequired": (
        "breaking",
        "every existing connection lacks the required connection parameter and must be "
        "created again",
        VERSIONING,
    ),
    "DeprecatedWithoutNotice": (
        "warning",
        'makers are not told: "Deprecate an operation" asks for "(deprecated)" at the end of '
        "the summary and the description, and 30 days' notice",
        DEPRECATE,
    ),
    "RemovedSoonAfterDeprecation": (
        "warning",
        '"Deprecate an operation" asks for at least 30 days\' notice: users had less time '
        "to move their flows off the operation before it was removed",
        DEPRECATE,
    ),
    "VisibilityLoweredToInternal": (
        "warning",
        "an internal operation is hidden from makers: flows that use it keep it, new ones "
        "cannot pick it (operational versioning)",
        VERSIONING,
    ),
    "OAuthScopeAdded": (
        "warning",
        "every user must consent again to the new scope before their connection works",
        VERSIONING,
    ),
    "PolicyRouteChanged": (
        "warning",
        "a policy template now changes the host or route of requests: existing flows reach "
        "another backend",
        VERSIONING,
    ),
    "HostChanged": (
        "warning",
        "requests of every existing flow go to another host or base path",
        VERSIONING,
    ),
    "OperationDeprecated": (
        "info",
        'the operation is deprecated as "Deprecate an operation" documents; keep it at least '
        "30 days before removing it",
        DEPRECATE,
    ),
    "OperationAdded": ("info", "a new operation: nothing existing breaks", VERSIONING),
    "ParameterAdded": ("info", "an optional parameter: nothing existing breaks", VERSIONING),
    "ResponsePropertyAdded": (
        "info",
        "a new output: nothing existing breaks",
        VERSIONING,
    ),
    "ReplacementWithoutAnnotation": (
        "info",
        "an operation is deprecated and a new one added without x-ms-api-annotation "
        "family/revision: the designer cannot offer the new revision as the replacement",
        DEPRECATE,
    ),
}


def level_of(rule: str) -> Level:
    return DIFF_RULES[rule][0]
