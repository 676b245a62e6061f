"""Every rule the lint can report: id → one-line description.

Ids in CamelCase that Microsoft's "Fix Swagger Validator errors" page lists keep Microsoft's
name (source "microsoft"); the others are this project's (source "connector-ga"), named in the
same style.
"""

from __future__ import annotations

MICROSOFT = "microsoft"
PROJECT = "connector-ga"

RULES: dict[str, tuple[str, str]] = {
    # loading
    "FileMissing": (PROJECT, "A required package file is missing."),
    "FileNotReadable": (PROJECT, "A package file cannot be read as UTF-8 text."),
    "InvalidJson": (PROJECT, "A package file is not valid JSON."),
    "JsonTypeIncorrect": (MICROSOFT, "A value has the wrong JSON type."),
    "SpecificationVersionIncorrect": (MICROSOFT, "The definition must be Swagger 2.0."),
    "FileTooLarge": (PROJECT, "The Swagger file is larger than 1 MB."),
    "ReadmeMissing": (PROJECT, "The package has no readme.md."),
    # structure and references
    "SwaggerStructure": (
        PROJECT,
        "The definition is not valid Swagger 2.0 (openapi-spec-validator).",
    ),
    "JsonPointerNotValid": (MICROSOFT, "A $ref does not point into this file's definitions."),
    "SchemaReferenceNotFound": (MICROSOFT, "A schema $ref points to nothing."),
    "ParameterReferenceNotFound": (MICROSOFT, "A parameter $ref points to nothing."),
    "ResponseReferenceNotFound": (MICROSOFT, "A response $ref points to nothing."),
    # connector metadata
    "RequiredPropertyMissing": (MICROSOFT, "A required property is missing."),
    "RequiredValueEmpty": (MICROSOFT, "A required property is empty."),
    "FieldLengthExceeded": (MICROSOFT, "A value is longer than allowed."),
    "FieldLengthNotInRange": (MICROSOFT, "A value's length is outside the allowed range."),
    "ValueContainsRestrictedWords": (MICROSOFT, "A value contains a restricted word."),
    "ValueMustEndWithAlphanumeric": (MICROSOFT, "A value must end with a letter or digit."),
    "ContactEmailNotValid": (MICROSOFT, "The contact email is not a valid address."),
    "ConnectorMetadataPropertiesMissing": (MICROSOFT, "x-ms-connector-metadata lacks a property."),
    "UrlNotValid": (MICROSOFT, "A URL is not a valid absolute URL."),
    "InvalidConnectorCategory": (MICROSOFT, "A category is not one of the allowed categories."),
    "TooManyConnectorCategories": (MICROSOFT, "More than two categories."),
    # operations
    "OperationIdRequired": (MICROSOFT, "An operation has no operationId."),
    "OperationIdNotUnique": (MICROSOFT, "An operationId is used more than once."),
    "OperationIdSanitized": (
        MICROSOFT,
        "An operationId has characters other than letters and digits.",
    ),
    "OperationSummaryMissing": (PROJECT, "A visible operation has no summary."),
    "OperationSummaryTooLong": (MICROSOFT, "An operation summary is too long."),
    "RestrictedCharactersInSummary": (
        MICROSOFT,
        "A summary has characters other than letters, digits and parentheses.",
    ),
    "OperationDescriptionMissing": (PROJECT, "A visible operation has no description."),
    "SchemaDefinitionSetIncorrectly": (MICROSOFT, "No output schema on the 200 or 201 response."),
    "DefaultResponseHasSchema": (MICROSOFT, "The default response defines a schema."),
    "OperationParametersContainDuplicateParameter": (
        MICROSOFT,
        "An operation repeats a parameter.",
    ),
    "PathParametersContainDuplicateParameter": (MICROSOFT, "A path repeats a parameter."),
    "OperationParametersContainMultipleBodyParameters": (
        MICROSOFT,
        "An operation has more than one body parameter.",
    ),
    "PathRedefined": (MICROSOFT, "Two paths differ only in letter case."),
    "DuplicateOperationPath": (MICROSOFT, "Two operations have indistinguishable path templates."),
    "JsonValueNotInEnum": (MICROSOFT, "A value is not one of the allowed values."),
    "OperationRevisionEmpty": (MICROSOFT, "An operation in a family has no revision."),
    "OperationFamilyHasManyEmptyRevisions": (
        MICROSOFT,
        "Several operations of a family have no revision.",
    ),
    "OperationFamilyHasDuplicateRevisions": (
        MICROSOFT,
        "Two operations of a family share a revision.",
    ),
    "OperationFamilyHasManyActiveOperations": (
        MICROSOFT,
        "More than two operations of a family are not deprecated.",
    ),
    "OperationFamilyHasManyActiveProductionOperations": (
        MICROSOFT,
        "Several operations of a family are active in Production.",
    ),
    "ApiAnnotationExtensionReplacementInfoForNonDeprecatedOperations": (
        MICROSOFT,
        "A replacement is given for an operation that is not deprecated.",
    ),
    "ApiAnnotationExtensionReplacementInfoMissingApiProperty": (
        MICROSOFT,
        "A replacement lacks 'api'.",
    ),
    "ApiAnnotationExtensionReplacementInfoMissingOperationIdProperty": (
        MICROSOFT,
        "A replacement lacks 'operationId'.",
    ),
    # host, schemes, backend
    "HostNameNotValid": (MICROSOFT, "The host is not a bare host name."),
    "BasePathNotValid": (MICROSOFT, "The basePath does not start with '/'."),
    "SchemesArrayEmpty": (MICROSOFT, "The schemes array is empty."),
    "SchemeNotValid": (MICROSOFT, "A scheme is not http or https."),
    "SchemeNotSupported": (MICROSOFT, "WebSocket schemes are not supported."),
    "InsecureScheme": (PROJECT, "Plain http is allowed."),
    "BackendNotProduction": (PROJECT, "The host or base path names a non-production environment."),
    "PreviewApiVersion": (PROJECT, "A preview or beta API version is called."),
    "HostIsPlaceholder": (PROJECT, "The host is a placeholder name."),
    "DynamicHost": (PROJECT, "The backend host is chosen at run time."),
    "ProductionStatusOnBetaService": (MICROSOFT, "Production status on a non-production backend."),
    # preview status
    "ConnectorInPreview": (PROJECT, "The connector is in preview."),
    "PreviewStatusInconsistent": (PROJECT, "The title, summary and status disagree on preview."),
    "OperationStatusAheadOfConnector": (
        MICROSOFT,
        "An operation is Production while the connector is Preview.",
    ),
    # apiProperties.json
    "IconBrandColorNotValid": (PROJECT, "iconBrandColor is not a #rrggbb colour."),
    "IconBrandColorNotAllowed": (PROJECT, "iconBrandColor is a colour certification refuses."),
    "PolicyTemplateUnknown": (PROJECT, "A policy template id is not a known template."),
    "PolicyTemplateParameterMissing": (PROJECT, "A policy template lacks a required parameter."),
    "OperationIdNotFound": (
        MICROSOFT,
        "An operationId named in apiProperties.json is not in the definition.",
    ),
    "ConnectionParameterTypeNotValid": (PROJECT, "A connection parameter has an unknown type."),
}
