"""Word lists shared by the rules on titles, descriptions and summaries."""

from __future__ import annotations

import re

# "Can't contain … any of our Power Platform product names (for example, "Power Apps")".
PRODUCT_NAMES = (
    "Power Apps",
    "PowerApps",
    "Power Automate",
    "Power BI",
    "PowerBI",
    "Power Pages",
    "Power Platform",
    "Power Virtual Agents",
    "Copilot Studio",
    "Microsoft Flow",
)
_PRODUCTS = re.compile(
    r"\b(" + "|".join(n.replace(" ", r"\s*") for n in PRODUCT_NAMES) + r")\b", re.IGNORECASE
)
_TITLE_WORDS = re.compile(r"\b(API|APIs|Connector|Connectors)\b", re.IGNORECASE)


def product_names(text: str) -> list[str]:
    return [m.group(0) for m in _PRODUCTS.finditer(text)]


def restricted_title_words(text: str) -> list[str]:
    return [m.group(0) for m in _TITLE_WORDS.finditer(text)] + product_names(text)


def quoted(words: list[str]) -> str:
    return ", ".join(f"'{w}'" for w in dict.fromkeys(words))
