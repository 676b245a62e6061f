"""Connector title, description, contact and x-ms-connector-metadata (certification step 2–3)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from ..findings import Finding
from ..loader import SWAGGER
from . import Context
from .text import product_names, quoted, restricted_title_words

TITLE_MAX = 30
DESCRIPTION_RANGE = (30, 500)
CATEGORIES = (
    "AI",
    "Business Management",
    "Business Intelligence",
    "Collaboration",
    "Commerce",
    "Communication",
    "Content and Files",
    "Finance",
    "Data",
    "Human Resources",
    "Internet of Things",
    "IT Operations",
    "Lifestyle and Entertainment",
    "Marketing",
    "Productivity",
    "Sales and CRM",
    "Security",
    "Social Media",
    "Website",
)
MAX_CATEGORIES = 2
METADATA = ("Website", "Privacy policy", "Categories")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _ends_well(title: str) -> bool:
    last = title[-1]
    # ")" closes the "(Independent Publisher)" suffix Microsoft's naming pattern requires.
    return (last.isascii() and last.isalnum()) or (last == ")" and "(" in title)


def _title(ctx: Context) -> Iterator[Finding]:
    info = ctx.package.swagger.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("title"), str):
        return  # the structural validation reports a missing or non-string title
    title = info["title"]
    at = "/info/title"
    if not title.strip():
        yield ctx.package.finding(
            "RequiredValueEmpty",
            "error",
            SWAGGER,
            at,
            "the connector title is empty",
            "give the connector the name of your product or organisation",
        )
        return
    if len(title) > TITLE_MAX:
        yield ctx.package.finding(
            "FieldLengthExceeded",
            "error",
            SWAGGER,
            at,
            f"the title '{title}' has {len(title)} characters, more than {TITLE_MAX}",
            f"shorten the title to {TITLE_MAX} characters or fewer",
        )
    words = restricted_title_words(title)
    if words:
        yield ctx.package.finding(
            "ValueContainsRestrictedWords",
            "error",
            SWAGGER,
            at,
            f"the title '{title}' contains {quoted(words)}: titles may not contain 'API', "
            "'Connector' or a Power Platform product name",
            "remove those words from the title",
        )
    if not _ends_well(title):
        yield ctx.package.finding(
            "ValueMustEndWithAlphanumeric",
            "error",
            SWAGGER,
            at,
            f"the title '{title}' ends with {title[-1]!r}, not a letter or digit",
            "remove the trailing character",
        )


def _description(ctx: Context) -> Iterator[Finding]:
    info = ctx.package.swagger.get("info")
    if not isinstance(info, dict):
        return
    description = info.get("description")
    if not isinstance(description, str) or not description.strip():
        yield ctx.package.finding(
            "RequiredPropertyMissing",
            "error",
            SWAGGER,
            "/info/description",
            "the connector has no description",
            "describe the connector's main purpose and value in 30 to 500 characters",
        )
        return
    low, high = DESCRIPTION_RANGE
    if not low <= len(description) <= high:
        yield ctx.package.finding(
            "FieldLengthNotInRange",
            "error",
            SWAGGER,
            "/info/description",
            f"the description has {len(description)} characters; it must have {low} to {high}",
            ("lengthen" if len(description) < low else "shorten") + " the description",
        )
    names = product_names(description)
    if names:
        yield ctx.package.finding(
            "ValueContainsRestrictedWords",
            "error",
            SWAGGER,
            "/info/description",
            f"the description contains {quoted(names)}: Power Platform product names are not "
            "allowed",
            "remove the product names from the description",
        )


def _contact(ctx: Context) -> Iterator[Finding]:
    contact = (ctx.package.swagger.get("info") or {}).get("contact")
    email = contact.get("email") if isinstance(contact, dict) else None
    if isinstance(email, str) and not _EMAIL.match(email):
        yield ctx.package.finding(
            "ContactEmailNotValid",
            "error",
            SWAGGER,
            "/info/contact/email",
            f"the contact email '{email}' is not a valid address",
            "give a valid support email address (ASCII only)",
        )


def _is_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value.strip()


def _connector_metadata(ctx: Context) -> Iterator[Finding]:
    metadata = ctx.package.swagger.get("x-ms-connector-metadata")
    at = "/x-ms-connector-metadata"
    entries = metadata if isinstance(metadata, list) else []
    found: dict[str, tuple[object, str]] = {}
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and isinstance(entry.get("propertyName"), str):
            name = entry["propertyName"].strip().lower()
            found.setdefault(name, (entry.get("propertyValue"), f"{at}/{index}/propertyValue"))
    for name in METADATA:
        if name.lower() not in found:
            yield ctx.package.finding(
                "ConnectorMetadataPropertiesMissing",
                "error",
                SWAGGER,
                at if isinstance(metadata, list) else "",
                f"x-ms-connector-metadata has no '{name}'",
                f'add {{"propertyName": "{name}", "propertyValue": …}} to the top-level '
                "x-ms-connector-metadata array",
            )
    for name in ("Website", "Privacy policy"):
        value, value_at = found.get(name.lower(), (None, ""))
        if name.lower() in found and not _is_url(value):
            yield ctx.package.finding(
                "UrlNotValid",
                "error",
                SWAGGER,
                value_at,
                f"x-ms-connector-metadata '{name}' is {value!r}, not an absolute http(s) URL",
                "give the full URL, starting with https://",
            )
    if "categories" in found:
        value, value_at = found["categories"]
        names = [c.strip() for c in value.split(";")] if isinstance(value, str) else []
        names = [c for c in names if c]
        allowed = {c.lower() for c in CATEGORIES}
        for category in names:
            if category.lower() not in allowed:
                yield ctx.package.finding(
                    "InvalidConnectorCategory",
                    "error",
                    SWAGGER,
                    value_at,
                    f"'{category}' is not a connector category",
                    "use categories from: " + ", ".join(CATEGORIES),
                )
        if len(names) > MAX_CATEGORIES:
            yield ctx.package.finding(
                "TooManyConnectorCategories",
                "error",
                SWAGGER,
                value_at,
                f"{len(names)} categories; at most {MAX_CATEGORIES} are allowed",
                "keep the two categories that describe the connector best",
            )
        if not names:
            yield ctx.package.finding(
                "RequiredValueEmpty",
                "error",
                SWAGGER,
                value_at,
                "x-ms-connector-metadata 'Categories' is empty",
                "give one or two categories separated by ';'",
            )


def check(ctx: Context) -> Iterator[Finding]:
    yield from _title(ctx)
    yield from _description(ctx)
    yield from _contact(ctx)
    yield from _connector_metadata(ctx)
