"""The GA request email: an RFC 5322 message built with Python's `email` package.

Plain text first, an HTML alternative, then the evidence attached: the HTML report and
the JSON result, byte for byte as written beside the .eml.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from ..result import Result
from . import wording
from .templates import render as render_template

RECIPIENT = "ConnectorPartnerMgmtTeam@service.microsoft.com"


@dataclass
class SupportModel:
    hours: list[str] = field(default_factory=list)
    timezone: str | None = None

    def text(self) -> str:
        if not self.hours:
            return "not declared"
        zone = f" ({self.timezone})" if self.timezone else ""
        return ", ".join(self.hours) + zone


@dataclass
class RequestFacts:
    """What the request says besides the Result: the publisher's declarations."""

    publisher: str
    preview_since: dt.date | None
    backend_support: SupportModel
    connector_support: SupportModel
    contact: str | None
    clouds: dict[str, str]
    customer_reference: str = ""
    backend_evidence: str | None = None


@dataclass
class Attachment:
    filename: str
    data: bytes
    maintype: str
    subtype: str


def subject(result: Result, facts: RequestFacts) -> str:
    title = result.title or result.connector
    return (
        f"GA request: {title} ({result.connector}) by {facts.publisher} - "
        "move from preview to general availability"
    )


def _context(
    result: Result,
    facts: RequestFacts,
    attachments: list[Attachment],
    evidence_sha256: str | None = None,
) -> dict:
    m = result.metrics
    exception_lines = wording.exception_evidence(result)
    if result.exception == "customer-requires-production" and facts.customer_reference:
        exception_lines = [
            f"a customer requires the connector in production (customer reference: "
            f"{facts.customer_reference})",
            *[line for line in exception_lines if not line.startswith("ga.toml declares")],
        ]
    criteria = [
        {
            "id": c.id,
            "title": wording.title(c.id),
            "level": c.level,
            "status": wording.status_text(c),
            "value": wording.format_value(c),
            "threshold": wording.format_threshold(c),
            "interval": wording.interval_text(c),
            "sample": wording.sample_text(c),
            "window": wording.window_text(result, c),
            "detail": c.detail,
        }
        for c in result.criteria
    ]
    preview = facts.preview_since or m.preview_since
    return {
        "r": result,
        "m": m,
        "facts": facts,
        "title": result.title or result.connector,
        "verdict_text": wording.VERDICT_TEXT[result.verdict],
        "preview_since": preview,
        "preview_inferred": m.preview_since_inferred and not facts.preview_since,
        "criteria": criteria,
        "exception_text": wording.EXCEPTION_TEXT.get(result.exception or "", ""),
        "exception_lines": exception_lines,
        "unmet": [wording.title(c.id) for c in wording.unmet_recommended(result)],
        "blocking": [wording.title(c.id) for c in wording.blocking(result)],
        "attachments": [a.filename for a in attachments],
        # What `connector-ga review` checks the attachments against.
        "attachment_hashes": [
            (a.filename, hashlib.sha256(a.data).hexdigest()) for a in attachments
        ],
        "evidence_sha256": evidence_sha256,
        "budget": m.error_budget,
    }


def build_message(
    result: Result,
    facts: RequestFacts,
    attachments: list[Attachment],
    *,
    sender: str | None = None,
    now: dt.datetime | None = None,
    evidence_sha256: str | None = None,
) -> EmailMessage:
    """The request, ready to write as .eml or to send. The body states each attachment's
    SHA-256 and `evidence_sha256`, the hash the request ledger records."""
    context = _context(result, facts, attachments, evidence_sha256)
    msg = EmailMessage()
    msg["To"] = RECIPIENT
    if sender:
        msg["From"] = sender
    if facts.contact and facts.contact != sender:
        msg["Reply-To"] = facts.contact
    msg["Subject"] = subject(result, facts)
    msg["Date"] = format_datetime(now or dt.datetime.now(dt.UTC))
    domain = (sender or facts.contact or "").rpartition("@")[2] or "connector-ga.invalid"
    msg["Message-ID"] = make_msgid(idstring="connector-ga", domain=domain)
    msg["X-Connector-GA-Verdict"] = result.verdict
    msg.set_content(render_template("request.txt.j2", **context), cte="quoted-printable")
    msg.add_alternative(
        render_template("request.html.j2", **context), subtype="html", cte="quoted-printable"
    )
    for a in attachments:
        msg.add_attachment(a.data, maintype=a.maintype, subtype=a.subtype, filename=a.filename)
    return msg
