"""The GA request: draft it from a Result, write it as .eml with its evidence, send it,
and keep track of it in the store's ledger.

    draft = draft_request(result, config, out_dir)      # refuses a not-ready connector
    record_draft(store_path, draft)
    send_request(store_path, draft, SmtpSettings.from_env())
    request_status(store_path, connector, current=result_now)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from . import ledger
from .config import GaConfig
from .errors import InputError
from .ledger import LedgerEntry
from .mail import SmtpSettings, send
from .outputs import html_report, json_result, wording
from .outputs.json_result import write_all_atomic
from .outputs.request_email import (
    RECIPIENT,
    Attachment,
    RequestFacts,
    SupportModel,
    build_message,
)
from .result import Result
from .store import Store

EML_NAME = "ga-request.eml"
REFUSED_VERDICTS = ("not-ready", "insufficient-data")


class RequestRefused(Exception):
    """The connector is not ready: the request would come back as "not eligible"."""

    def __init__(self, message: str, blocking: list[str]) -> None:
        super().__init__(message)
        self.message = message
        self.blocking = blocking


@dataclass
class Evidence:
    """What is attached: the HTML report and the JSON result, as bytes."""

    report: bytes
    result: bytes

    @property
    def hash(self) -> str:
        return evidence_hash(self.report, self.result)

    @property
    def result_hash(self) -> str:
        return hashlib.sha256(self.result).hexdigest()

    @property
    def report_hash(self) -> str:
        return hashlib.sha256(self.report).hexdigest()


def evidence_hash(report: bytes, result: bytes) -> str:
    """SHA-256 over the JSON result then the report, each prefixed by its length."""
    digest = hashlib.sha256()
    for part in (result, report):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def render_evidence(result: Result) -> Evidence:
    return Evidence(
        report=html_report.render(result).encode("utf-8"),
        result=json_result.dumps(result).encode("utf-8"),
    )


@dataclass
class Draft:
    result: Result
    message: EmailMessage
    evidence: Evidence
    eml_path: Path
    report_path: Path
    result_path: Path
    entry: LedgerEntry | None = None
    warnings: list[str] = field(default_factory=list)


def refusal(result: Result) -> RequestRefused | None:
    """Why this Result may not be sent, or None when its verdict allows a request."""
    if result.verdict not in REFUSED_VERDICTS:
        return None
    parts = []
    for c in wording.blocking(result):
        if c.status == "fail":
            parts.append(
                f"{c.id} (fail: {wording.format_value(c)}, needs {wording.format_threshold(c)})"
            )
        else:
            parts.append(f"{c.id} (insufficient data)")
    message = (
        f"{result.connector} is {result.verdict}: blocking criteria "
        + (", ".join(parts) if parts else "none named")
        + "; a request now would come back 'not eligible' (pass --force to draft it anyway)"
    )
    return RequestRefused(message, list(result.blocking))


def facts_from(config: GaConfig | None, result: Result) -> RequestFacts:
    """The declarations the request needs, from ga.toml; missing ones are named."""
    if config is None:
        raise InputError(
            "the request needs ga.toml (connector title and publisher, support model, clouds): "
            "pass --config or run in the folder that has it"
        )
    publisher = config.connector.publisher or result.publisher
    if not publisher:
        raise InputError(
            f"{config.source}: key 'connector.publisher': expected the publisher's name, which the "
            "request's subject and body name"
        )
    backend = config.support.backend
    connector = config.support.connector
    return RequestFacts(
        publisher=publisher,
        preview_since=config.connector.preview_since,
        backend_support=SupportModel(
            list(backend.hours) if backend else [], backend.timezone if backend else None
        ),
        connector_support=SupportModel(
            list(connector.hours) if connector else [], connector.timezone if connector else None
        ),
        contact=connector.contact if connector else None,
        clouds=config.clouds.endpoints(),
        customer_reference=config.exceptions.customer_reference.strip(),
        backend_evidence=config.backend.evidence,
    )


def attachment_names(result: Result) -> tuple[str, str]:
    return f"{result.connector}-ga-report.html", f"{result.connector}-ga-result.json"


def draft_request(
    result: Result,
    config: GaConfig | None,
    out_dir: str | Path = ".",
    *,
    sender: str | None = None,
    force: bool = False,
    now: dt.datetime | None = None,
) -> Draft:
    """Build the request and write it, with its attachments, into `out_dir`.

    Raises RequestRefused for a not-ready or insufficient-data verdict unless `force`.
    """
    refused = refusal(result)
    if refused is not None and not force:
        raise refused
    facts = facts_from(config, result)
    evidence = render_evidence(result)
    report_name, result_name = attachment_names(result)
    attachments = [
        Attachment(report_name, evidence.report, "text", "html"),
        Attachment(result_name, evidence.result, "application", "json"),
    ]
    sender = sender or facts.contact
    message = build_message(
        result, facts, attachments, sender=sender, now=now, evidence_sha256=evidence.hash
    )
    out = Path(out_dir)
    draft = Draft(
        result=result,
        message=message,
        evidence=evidence,
        eml_path=out / EML_NAME,
        report_path=out / report_name,
        result_path=out / result_name,
    )
    if refused is not None:
        draft.warnings.append(f"drafted despite the verdict {result.verdict} (--force)")
    if result.verdict == "ready-with-warnings":
        draft.warnings.append(
            "recommended criteria are not met and no exception applies yet: "
            "Microsoft may answer 'not eligible'"
        )
    write_all_atomic(
        {
            draft.report_path: evidence.report.decode("utf-8"),
            draft.result_path: evidence.result.decode("utf-8"),
            draft.eml_path: eml_bytes(message).decode("utf-8"),
        }
    )
    return draft


def eml_bytes(message: EmailMessage) -> bytes:
    """RFC 5322 on the wire: CRLF line ends."""
    return message.as_bytes(policy=policy.SMTP)


def _open_ledger(store_path: str | Path) -> Store:
    store = Store.open(store_path, create=True, write=True)
    ledger.ensure_table(store)
    return store


def record_draft(
    store_path: str | Path, draft: Draft, now: dt.datetime | None = None
) -> LedgerEntry:
    """Add the draft to the ledger (state `drafted`)."""
    with _open_ledger(store_path) as store:
        entry = LedgerEntry(
            id=ledger.next_id(store),
            connector=draft.result.connector,
            state="drafted",
            drafted_at=now or dt.datetime.now(dt.UTC),
            verdict=draft.result.verdict,
            evidence_hash=draft.evidence.hash,
            message_path=str(draft.eml_path.resolve()),
            as_of=draft.result.as_of,
            result_hash=draft.evidence.result_hash,
            report_hash=draft.evidence.report_hash,
            report_path=str(draft.report_path.resolve()),
            result_path=str(draft.result_path.resolve()),
            recipient=RECIPIENT,
            subject=str(draft.message["Subject"]),
            message_id=str(draft.message["Message-ID"]),
        )
        ledger.append(store, entry)
    draft.entry = entry
    return entry


def already_sent(store_path: str | Path, connector: str, today: dt.date) -> LedgerEntry | None:
    """The last request sent for this connector whose decision is still awaited."""
    if not Path(store_path).exists():
        return None
    with Store.open(store_path) as store:
        sent = ledger.last_sent(store, connector)
    if sent and sent.decision_expected and sent.decision_expected >= today:
        return sent
    return None


def mark_sent(
    store_path: str | Path, entry: LedgerEntry, sent_at: dt.datetime | None = None
) -> LedgerEntry:
    """Record that a drafted request was sent (by --send, or from a mail client)."""
    sent = LedgerEntry(**{**entry.__dict__})
    sent.state = "sent"
    sent.sent_at = sent_at or dt.datetime.now(dt.UTC)
    with _open_ledger(store_path) as store:
        ledger.append(store, sent)
    return sent


def send_request(
    store_path: str | Path,
    draft: Draft,
    settings: SmtpSettings,
    now: dt.datetime | None = None,
) -> LedgerEntry:
    """Send the drafted request over SMTP (STARTTLS) and record it as sent."""
    if draft.entry is None:
        raise ValueError("record the draft before sending it")
    message = draft.message
    if settings.sender and message["From"] != settings.sender:
        del message["From"]
        message["From"] = settings.sender
    if not message["From"]:
        raise InputError(
            "no sender address: set CONNECTOR_GA_SMTP_FROM (or a support contact in ga.toml)"
        )
    send(message, settings)
    return mark_sent(store_path, draft.entry, now)


# ---- status --------------------------------------------------------------------------------


@dataclass
class EvidenceChange:
    changed: bool
    numbers_changed: bool
    lines: list[str] = field(default_factory=list)


@dataclass
class RequestStatus:
    entry: LedgerEntry
    change: EvidenceChange | None  # None: the evidence could not be re-checked
    files_modified: list[str] = field(default_factory=list)

    @property
    def sent(self) -> bool:
        return self.entry.state == "sent"


def _criterion_changes(before: Result, after: Result) -> list[str]:
    lines = []
    if before.as_of != after.as_of:
        lines.append(f"as of {before.as_of} → {after.as_of}")
    if before.verdict != after.verdict:
        lines.append(f"verdict {before.verdict} → {after.verdict}")
    else:
        lines.append(f"verdict still {after.verdict}")
    now = {c.id: c for c in after.criteria}
    for old in before.criteria:
        new = now.get(old.id)
        if new is None:
            continue
        was, is_ = wording.format_value(old), wording.format_value(new)
        if old.status != new.status:
            lines.append(f"{old.id} {old.status} → {new.status} ({was} → {is_})")
        elif was != is_:
            lines.append(f"{old.id} {was} → {is_}")
    return lines


def compare_evidence(entry: LedgerEntry, current: Result) -> EvidenceChange:
    """The evidence as recorded when sending (or drafting) against a fresh check now."""
    result_now = json_result.dumps(current).encode("utf-8")
    if not entry.result_hash or hashlib.sha256(result_now).hexdigest() == entry.result_hash:
        # Same numbers (or an entry without a result hash): the report decides.
        report_now = html_report.render(current).encode("utf-8")
        if evidence_hash(report_now, result_now) == entry.evidence_hash:
            return EvidenceChange(changed=False, numbers_changed=False)
        if entry.result_hash:
            return EvidenceChange(
                changed=True,
                numbers_changed=False,
                lines=["the numbers are the same; only the report's rendering differs"],
            )
    lines = []
    if entry.result_path and Path(entry.result_path).is_file():
        try:
            before = Result.model_validate_json(Path(entry.result_path).read_bytes())
            lines = _criterion_changes(before, current)
        except ValueError:
            lines = []
    if not lines:
        lines = [f"now: {current.verdict} as of {current.as_of}"]
    return EvidenceChange(changed=True, numbers_changed=True, lines=lines)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hashes_from_message(entry: LedgerEntry) -> tuple[str | None, str | None]:
    """The report's and the JSON's SHA-256 as attached to the drafted .eml, when its two
    attachments still match the evidence hash recorded (a ledger row written before the
    report's own hash was recorded)."""
    path = Path(entry.message_path or "")
    if not (entry.report_path and entry.result_path and path.is_file()):
        return None, None
    try:
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        attached = {
            part.get_filename(): part.get_payload(decode=True)
            for part in message.iter_attachments()
        }
    except (OSError, ValueError):
        return None, None
    report = attached.get(Path(entry.report_path).name)
    result = attached.get(Path(entry.result_path).name)
    if report is None or result is None or evidence_hash(report, result) != entry.evidence_hash:
        return None, None
    return _sha256(report), _sha256(result)


def _modified_files(entry: LedgerEntry) -> list[str]:
    """The attachments on disk that no longer match what was recorded, each named with
    why ("changed" or "missing"): only the files whose own hash differs."""
    if not (entry.report_path and entry.result_path):
        return []
    report, result = Path(entry.report_path), Path(entry.result_path)
    recorded = {report: entry.report_hash, result: entry.result_hash}
    if None in recorded.values():
        from_message = dict(zip((report, result), _hashes_from_message(entry), strict=True))
        recorded = {p: recorded[p] or from_message[p] for p in recorded}
    out = []
    for path in (report, result):
        if not path.is_file():
            out.append(f"{path} (missing)")
        elif recorded[path] is not None and _sha256(path.read_bytes()) != recorded[path]:
            out.append(f"{path} (changed)")
    if (
        None in recorded.values()
        and not out
        and evidence_hash(report.read_bytes(), result.read_bytes()) != entry.evidence_hash
    ):
        # Neither file's own hash is known: the pair differs from what was recorded.
        out = [f"{path} (changed)" for path in (report, result) if recorded[path] is None]
    return out


def request_status(
    store_path: str | Path, connector: str, current: Result | None = None
) -> RequestStatus | None:
    """The latest request of a connector, and whether its evidence changed since."""
    if not Path(store_path).exists():
        return None
    with Store.open(store_path) as store:
        entry = ledger.latest(store, connector)
    if entry is None:
        return None
    change = compare_evidence(entry, current) if current is not None else None
    return RequestStatus(entry=entry, change=change, files_modified=_modified_files(entry))


def ledger_connectors(store_path: str | Path) -> list[str]:
    if not Path(store_path).exists():
        return []
    with Store.open(store_path) as store:
        return ledger.connectors(store)
