"""The receiving side of a GA request: is the request sound?

For each request email (`.eml`, a folder of them, or an mbox) written by `connector-ga
request`, the checks are:

- attachments: the HTML report and the JSON result are attached;
- hashes: each attachment's SHA-256, and the evidence hash the request ledger records,
  match the ones the email states;
- schema: the JSON result keeps the connector-ga/result/v1 contract;
- policy: it names a policy the reviewer knows (the shipped one, or one passed in);
- figures: the verdict, the exception and every criterion's status and value follow from
  the figures under that policy (evaluation runs again on them: `evaluate.evaluate`);
- telemetry (with the reviewer's own telemetry): the criteria measured there have the
  statuses claimed.

    reviews = review_requests(["inbox/"], policies=[], telemetry=["ms-side/"])
    reviews[0].ok, reviews[0].checks

A file that is not a request email, or an attachment that is not what it says, is an
InputError naming it (exit 2); a request that fails a check is a finding (exit 1).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mailbox
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .config import (
    BackendSection,
    ConnectorSection,
    ExceptionsSection,
    GaConfig,
    SupportHours,
    SupportSection,
)
from .contracts import validation_errors
from .errors import InputError
from .evaluate import evaluate
from .metrics.model import FAULT_KINDS, ConnectorMetrics, InputQuality, WeekCount
from .outputs import wording
from .policy import DEFAULT_POLICY, Policy, load_policy
from .request import evidence_hash
from .result import Criterion, Result

SCHEMA = "connector-ga/review/v1"
CHECKS = ("attachments", "hashes", "schema", "policy", "figures", "telemetry")
REPORT_SUFFIX, RESULT_SUFFIX = "-ga-report.html", "-ga-result.json"
VERDICT_HEADER = "X-Connector-GA-Verdict"

_STATED = re.compile(r"^\s*-\s+(?P<name>\S.*?) \(SHA-256 (?P<sha256>[0-9a-f]{64})\)\s*$")
_EVIDENCE = re.compile(r"Evidence SHA-256 \(.*?\):\s*(?P<sha256>[0-9a-f]{64})")
_SUBJECT = re.compile(r"^GA request: (?P<title>.*) \((?P<id>[^()]*)\) by (?P<publisher>.*?) - ")


@dataclass
class Check:
    name: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    skipped: str | None = None  # why it could not run (an earlier check failed)

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "ok": self.ok,
            "problems": list(self.problems),
            "skipped": self.skipped,
        }


@dataclass
class Comparison:
    """One criterion as claimed and as measured on the reviewer's telemetry."""

    criterion: str
    claimed_status: str | None
    claimed_value: str
    measured_status: str
    measured_value: str

    @property
    def differs(self) -> bool:
        return self.claimed_status != self.measured_status

    def to_json(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "claimed_status": self.claimed_status,
            "claimed_value": self.claimed_value,
            "measured_status": self.measured_status,
            "measured_value": self.measured_value,
            "differs": self.differs,
        }


@dataclass
class Measured:
    verdict: str
    as_of: dt.date
    criteria: list[Comparison]

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "as_of": self.as_of.isoformat(),
            "criteria": [c.to_json() for c in self.criteria],
        }


@dataclass
class RequestReview:
    source: str  # the file, or FILE#N for the Nth message of an mbox
    subject: str
    connector: str | None
    publisher: str | None
    claimed_verdict: str | None
    as_of: dt.date | None = None
    policy: dict[str, str] | None = None
    checks: list[Check] = field(default_factory=list)
    measured: Measured | None = None
    result: Result | None = field(default=None, repr=False)  # the attached one, when readable
    config: GaConfig | None = field(default=None, repr=False)  # ga.toml as the result states it

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "subject": self.subject,
            "connector": self.connector,
            "publisher": self.publisher,
            "claimed_verdict": self.claimed_verdict,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "policy": self.policy,
            "ok": self.ok,
            "checks": [c.to_json() for c in self.checks],
            "measured": self.measured.to_json() if self.measured else None,
        }


def to_json(reviews: Sequence[RequestReview]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "ok": all(r.ok for r in reviews),
        "requests": [r.to_json() for r in reviews],
    }


def dumps(reviews: Sequence[RequestReview]) -> str:
    return json.dumps(to_json(reviews), indent=2, ensure_ascii=False) + "\n"


# ---- reading the emails ----------------------------------------------------------------


def _is_mbox(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(5) == b"From "


def read_messages(paths: Sequence[str | Path]) -> list[tuple[str, bytes]]:
    """Every message to review, with where it came from: .eml files, folders of .eml and
    .mbox files (not descending further), mbox files."""
    found: list[tuple[str, bytes]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in (".eml", ".mbox")
            )
            if not files:
                raise InputError(f"{path}: no .eml or .mbox file in this folder")
        elif path.is_file():
            files = [path]
        else:
            raise InputError(f"{path}: no such file or folder")
        for file in files:
            try:
                if _is_mbox(file):
                    box = mailbox.mbox(file, create=False)
                    try:
                        messages = [box.get_bytes(key) for key in box.iterkeys()]
                    finally:
                        box.close()
                    if not messages:
                        raise InputError(f"{file}: an mbox without any message")
                    found += [(f"{file}#{n}", data) for n, data in enumerate(messages, 1)]
                else:
                    found.append((str(file), file.read_bytes()))
            except OSError as exc:
                raise InputError(f"{file}: cannot be read ({exc.strerror or exc})") from None
    return found


def parse_message(source: str, data: bytes) -> EmailMessage:
    """The message, or an InputError saying why it is no GA request email."""
    message = BytesParser(policy=email_policy.default).parsebytes(data)
    if not message.keys() or not message.get("Subject"):
        raise InputError(f"{source}: not an email (no headers, or no Subject)")
    subject = str(message["Subject"])
    if message.get(VERDICT_HEADER) is None and not subject.startswith("GA request:"):
        raise InputError(
            f"{source}: not a GA request written by `connector-ga request` "
            f"(no {VERDICT_HEADER} header, subject {subject[:60]!r})"
        )
    return message


def _attachments(source: str, message: EmailMessage) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for part in message.iter_attachments():
        name = part.get_filename()
        if not name:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            raise InputError(f"{source}: attachment {name}: its content cannot be decoded")
        found[name] = data
    return found


def _plain_body(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    if body is None:
        return ""
    try:
        return body.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        return ""


def _stated_hashes(body: str) -> tuple[dict[str, str], str | None]:
    stated = {}
    for line in body.splitlines():
        found = _STATED.match(line)
        if found:
            stated[found["name"]] = found["sha256"]
    evidence = _EVIDENCE.search(body)
    return stated, evidence["sha256"] if evidence else None


def _result_json(source: str, name: str, data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: attachment {name}: not UTF-8 (byte {exc.start + 1})") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: attachment {name}: not JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno})"
        ) from None


# ---- the checks ------------------------------------------------------------------------


def known_policies(paths: Sequence[str | Path] = ()) -> dict[tuple[str, str], Policy]:
    """The policies a result may name: the shipped default and the reviewer's own files."""
    policies = [load_policy(DEFAULT_POLICY), *(load_policy(p) for p in paths)]
    return {(p.name, p.version): p for p in policies}


def _check_attachments(attached: dict[str, bytes]) -> tuple[Check, str | None, str | None]:
    report = next((n for n in sorted(attached) if n.endswith(REPORT_SUFFIX)), None)
    result = next((n for n in sorted(attached) if n.endswith(RESULT_SUFFIX)), None)
    problems = []
    if result is None:
        problems.append(f"no JSON result attached (a file named CONNECTOR{RESULT_SUFFIX})")
    if report is None:
        problems.append(f"no HTML report attached (a file named CONNECTOR{REPORT_SUFFIX})")
    if report and result and report[: -len(REPORT_SUFFIX)] != result[: -len(RESULT_SUFFIX)]:
        problems.append(f"the report {report} and the result {result} name different connectors")
    return Check("attachments", not problems, problems), report, result


def _check_hashes(
    body: str, attached: dict[str, bytes], report: str | None, result: str | None
) -> Check:
    stated, evidence = _stated_hashes(body)
    problems = []
    for name in (n for n in (report, result) if n):
        actual = hashlib.sha256(attached[name]).hexdigest()
        if name not in stated:
            problems.append(f"the email states no SHA-256 for {name}")
        elif stated[name] != actual:
            problems.append(
                f"{name}: SHA-256 {actual[:16]}… attached, {stated[name][:16]}… stated in the "
                "email: the attachment is not the one the request was drafted with"
            )
    for name in sorted(set(stated) - set(attached)):
        problems.append(f"the email states a SHA-256 for {name}, which is not attached")
    if report and result:
        actual = evidence_hash(attached[report], attached[result])
        if evidence is None:
            problems.append("the email states no evidence SHA-256 (the request ledger's hash)")
        elif evidence != actual:
            problems.append(
                f"evidence SHA-256 {actual[:16]}… of the attachments, {evidence[:16]}… stated "
                "in the email (the request ledger's hash)"
            )
    return Check("hashes", not problems, problems)


def _skipped(name: str, why: str) -> Check:
    return Check(name, False, [f"not checked: {why}"], skipped=why)


def _config_of(result: Result) -> GaConfig | None:
    """ga.toml as the result states it: what evaluation read besides the figures."""
    declared = result.declarations
    if not declared:
        return None
    support = declared.get("support") or {}
    since = declared.get("preview_since")
    if since is None and not result.metrics.preview_since_inferred:
        since = result.metrics.preview_since
    reference = declared.get("customer_reference")
    if reference is None:  # a result from before it was stated: the email names it
        reference = "stated in the email" if declared.get("customer_requires_production") else ""
    return GaConfig(
        connector=ConnectorSection(
            id=result.connector,
            title=result.title,
            publisher=result.publisher,
            preview_since=since,
        ),
        backend=BackendSection(status=declared.get("backend_status")),
        support=SupportSection(
            backend=SupportHours(**support["backend"]) if support.get("backend") else None,
            connector=SupportHours(**support["connector"]) if support.get("connector") else None,
        ),
        exceptions=ExceptionsSection(
            customer_requires_production=bool(declared.get("customer_requires_production")),
            customer_reference=reference,
        ),
    )


def metrics_of(result: Result) -> ConnectorMetrics:
    """The figures a result states, as evaluation reads them."""
    m, quality = result.metrics, result.data_quality
    faults = dict.fromkeys(FAULT_KINDS, 0) | {k: int(v) for k, v in m.faults.items()}
    return ConnectorMetrics(
        connector=result.connector,
        as_of=result.as_of,
        window_start=m.window["start"],
        window_end=m.window["end"],
        first_day=m.first_day,
        last_day=m.last_day,
        requests=m.requests,
        eligible=m.eligible,
        throttled=m.throttled,
        successes=m.successes,
        faults=faults,
        connections=m.connections,
        connections_meeting_bar=m.connections_meeting_bar,
        rows_without_connection=quality.rows_without_connection,
        rows_without_user=quality.rows_without_user,
        unattributed_5xx=quality.unattributed_5xx,
        weighted=m.distinct_counts_estimated,
        wau=[WeekCount(w.week, w.start, w.users, w.before_first_day) for w in m.wau],
        mac_series=[(p.date, p.connections) for p in m.mac.series],
        mac_current=m.mac.current,
        mac_min=m.mac.min,
        mac_min_date=m.mac.min_date,
        mac_partial_lookback=m.mac.partial_lookback,
    )


def _backend_claim(claimed: Criterion | None, config: GaConfig | None) -> Criterion:
    """backend-production rests on ga.toml and on the package, which the reviewer does not
    have: a declared non-production backend fails; the package's evidence, which the
    criterion lists, may only fail a declared production backend or pass an undeclared one."""
    declared = config.backend.status if config else None
    claimed = claimed or Criterion(id="backend-production", level="required", status="fail")
    from_package = [e for e in claimed.evidence if not e.startswith("ga.toml ")]
    from_package = [e for e in from_package if not (declared and e.startswith("http"))]
    if declared and declared.strip().lower() != "production":
        status = "fail"
    elif declared:
        status = "fail" if claimed.status == "fail" and from_package else "pass"
    else:
        status = claimed.status if from_package else "insufficient-data"
    return claimed.model_copy(update={"status": status})


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _numeric(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _compare_figures(claimed: Result, derived: Result) -> list[str]:
    problems = []
    if claimed.verdict != derived.verdict:
        problems.append(
            f"verdict {claimed.verdict} claimed, {derived.verdict} from the figures "
            f"({derived.summary})"
        )
    if claimed.exception != derived.exception:
        problems.append(
            f"exception {claimed.exception or 'none'} claimed, "
            f"{derived.exception or 'none'} from the figures"
        )
    mine = {c.id: c for c in derived.criteria}
    theirs = {c.id: c for c in claimed.criteria}
    for cid in [c.id for c in derived.criteria if c.id not in theirs]:
        problems.append(f"{cid}: missing from the result")
    for cid in [c.id for c in claimed.criteria if c.id not in mine]:
        problems.append(f"{cid}: not a criterion of the policy")
    for c in claimed.criteria:
        d = mine.get(c.id)
        if d is None:
            continue
        if c.status != d.status:
            problems.append(
                f"{c.id}: {c.status} claimed, {d.status} from the figures "
                f"({wording.format_value(d)}; {d.detail})"
            )
        claimed_value, derived_value = _numeric(c.value), _numeric(d.value)
        if derived_value is not None and not _close(claimed_value, derived_value):
            problems.append(
                f"{c.id}: value {wording.format_value(c)} claimed, "
                f"{wording.format_value(d)} from the figures"
            )
        for what in ("numerator", "denominator", "threshold", "comparison"):
            if getattr(d, what) is not None and getattr(c, what) != getattr(d, what):
                problems.append(
                    f"{c.id}: {what} {getattr(c, what)} claimed, {getattr(d, what)} from the "
                    "figures and the policy"
                )
    for ratio in ("success_rate", "availability", "slo"):
        stated, counted = getattr(claimed.metrics, ratio), getattr(derived.metrics, ratio)
        if not _close(stated, counted):
            problems.append(f"metrics.{ratio} {stated} stated, {counted} from its counts")
    return problems


def _check_figures(result: Result, config: GaConfig | None, policy: Policy) -> Check:
    backend = _backend_claim(
        next((c for c in result.criteria if c.id == "backend-production"), None), config
    )
    try:
        derived = evaluate(
            metrics_of(result), InputQuality(), policy, config, backend_criterion=backend
        )
    except (KeyError, ValueError, ZeroDivisionError, TypeError) as exc:
        return Check("figures", False, [f"the figures cannot be evaluated: {exc}"])
    problems = _compare_figures(result, derived)
    if config is not None and "support" not in result.declarations:
        problems = [
            p + " (the result states no support hours: drafted by an older connector-ga?)"
            if p.startswith("support-model:")
            else p
            for p in problems
        ]
    return Check("figures", not problems, problems)


def review_message(
    source: str, message: EmailMessage, policies: dict[tuple[str, str], Policy]
) -> tuple[RequestReview, Policy | None]:
    """Every check that needs only the email: attachments, hashes, schema, policy, figures."""
    subject = str(message["Subject"])
    said = _SUBJECT.match(subject)
    attached = _attachments(source, message)
    review = RequestReview(
        source=source,
        subject=subject,
        connector=said["id"] if said else None,
        publisher=said["publisher"] if said else None,
        claimed_verdict=message.get(VERDICT_HEADER),
    )
    attachments, report, result_name = _check_attachments(attached)
    review.checks.append(attachments)
    review.checks.append(_check_hashes(_plain_body(message), attached, report, result_name))
    if result_name is None:
        why = "no JSON result attached"
        review.checks += [_skipped(name, why) for name in ("schema", "policy", "figures")]
        return review, None

    document = _result_json(source, result_name, attached[result_name])
    errors = validation_errors(document, "result") if isinstance(document, dict) else []
    if not isinstance(document, dict):
        errors = [
            "expected one connector-ga/result/v1 object, got a JSON " + type(document).__name__
        ]
    review.checks.append(Check("schema", not errors, [f"{result_name} {e}" for e in errors]))
    if errors:
        why = "the JSON result breaks its schema"
        review.checks += [_skipped(name, why) for name in ("policy", "figures")]
        return review, None
    try:
        result = Result.model_validate(document)
    except ValidationError as exc:
        problem = f"{result_name}: cannot be read as a result: {exc.errors()[0]['msg']}"
        review.checks[-1] = Check("schema", False, [problem])
        review.checks += [
            _skipped(name, "the JSON result cannot be read") for name in ("policy", "figures")
        ]
        return review, None

    review.result, review.config = result, _config_of(result)
    review.connector, review.as_of = result.connector, result.as_of
    review.publisher = result.publisher or review.publisher
    review.policy = {"name": result.policy.name, "version": result.policy.version}
    header = review.claimed_verdict
    review.claimed_verdict = result.verdict

    policy = policies.get((result.policy.name, result.policy.version))
    if policy is None:
        known = ", ".join(f"{name} {version}" for name, version in sorted(policies))
        review.checks.append(
            Check(
                "policy",
                False,
                [
                    f"policy {result.policy.name!r} version {result.policy.version!r} is not "
                    f"known (known: {known}; pass --policy FILE for another)"
                ],
            )
        )
        review.checks.append(_skipped("figures", "the policy is not known"))
        return review, None
    review.checks.append(Check("policy", True))
    figures = _check_figures(result, review.config, policy)
    if header is not None and header != result.verdict:
        figures.ok = False
        figures.problems.insert(
            0, f"the email's {VERDICT_HEADER} header says {header}, the result {result.verdict}"
        )
    review.checks.append(figures)
    return review, policy


# ---- against the reviewer's telemetry --------------------------------------------------


def _measure(
    pending: list[tuple[RequestReview, Policy]],
    telemetry: Sequence[str],
    fmt: str | None,
    max_reject_rate: float | None,
) -> None:
    """Recompute each connector's criteria from the reviewer's telemetry, as of the date
    its request was judged, under its policy; add the telemetry check."""
    from .api import prepare
    from .metrics.compute import metrics_as_of

    by_policy: dict[tuple[str, str], list[tuple[RequestReview, Policy]]] = {}
    for review, policy in pending:
        by_policy.setdefault((policy.name, policy.version), []).append((review, policy))
    for group in by_policy.values():
        policy = group[0][1]
        names = {r.connector for r, _ in group}
        prepared = prepare(
            telemetry=list(telemetry),
            fmt=fmt,
            connector=next(iter(names)) if len(names) == 1 else None,
            all_connectors=True,
            policy=policy,
            max_reject_rate=max_reject_rate,
        )
        try:
            for review, _ in group:
                result = review.result
                assert result is not None
                if result.connector not in prepared.names:
                    review.checks.append(
                        Check(
                            "telemetry",
                            False,
                            [f"the telemetry holds no request for connector {result.connector}"],
                        )
                    )
                    continue
                m = metrics_as_of(prepared.rollups, policy, result.as_of, [result.connector])
                backend = _backend_claim(
                    next((c for c in result.criteria if c.id == "backend-production"), None),
                    review.config,
                )
                measured = evaluate(
                    m[result.connector],
                    prepared.quality,
                    policy,
                    review.config,
                    backend_criterion=backend,
                )
                review.measured = _comparison(result, measured)
                review.checks.append(_telemetry_check(review.measured))
        finally:
            prepared.release()


def _comparison(claimed: Result, measured: Result) -> Measured:
    theirs = {c.id: c for c in claimed.criteria}
    rows = []
    for c in measured.criteria:
        before = theirs.get(c.id)
        rows.append(
            Comparison(
                criterion=c.id,
                claimed_status=before.status if before else None,
                claimed_value=wording.format_value(before) if before else "—",
                measured_status=c.status,
                measured_value=wording.format_value(c),
            )
        )
    return Measured(verdict=measured.verdict, as_of=measured.as_of, criteria=rows)


def _telemetry_check(measured: Measured) -> Check:
    problems = [
        f"{c.criterion}: {c.claimed_status} claimed ({c.claimed_value}), {c.measured_status} "
        f"measured ({c.measured_value})"
        for c in measured.criteria
        if c.differs
    ]
    return Check("telemetry", not problems, problems)


def review_requests(
    paths: Sequence[str | Path],
    *,
    policies: Sequence[str | Path] = (),
    telemetry: Sequence[str] | None = None,
    fmt: str | None = None,
    max_reject_rate: float | None = None,
) -> list[RequestReview]:
    """Review every request email found in `paths`."""
    known = known_policies(policies)
    reviews, pending = [], []
    for source, data in read_messages(paths):
        review, policy = review_message(source, parse_message(source, data), known)
        reviews.append(review)
        if telemetry and policy is not None:
            pending.append((review, policy))
        elif telemetry:
            review.checks.append(_skipped("telemetry", "the result could not be judged"))
    if pending:
        _measure(pending, telemetry, fmt, max_reject_rate)
    return reviews
