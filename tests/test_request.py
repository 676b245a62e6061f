"""The GA request: the .eml and its evidence, refusal, SMTP with STARTTLS, the ledger."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
from email import policy
from email.parser import BytesParser

import pytest
from typer.testing import CliRunner

from connector_ga.cli import app
from connector_ga.outputs import wording
from connector_ga.outputs.request_email import RECIPIENT
from connector_ga.request import evidence_hash
from connector_ga.result import Result
from connector_ga.simulate import Incident, SimulationSpec, simulate

SPEC = dict(days=45, requests_per_day=2500, connections=200, users=1000, seed=5)
BUG = Incident("connector-bug", dt.datetime(2026, 11, 12, 8), hours=6)
GA_TOML = """
[connector]
id = "contoso-tasks"
title = "Contoso Tasks"
publisher = "Contoso Ltd"
preview_since = 2026-03-02

[telemetry]
paths = ["{telemetry}"]

[backend]
status = "production"
evidence = "https://status.contoso.com"

[support.backend]
hours = ["Mon-Fri 08:00-17:00"]
timezone = "America/Los_Angeles"

[support.connector]
hours = ["Mon-Fri 08:00-18:00"]
timezone = "America/Los_Angeles"
contact = "connectors@contoso.com"

[clouds]
gcc-high = "https://api.contoso.us"
"""
PASSWORD = "s3cret-Pa55word!"
SMTP_ENV_NAMES = ("HOST", "PORT", "USER", "PASSWORD", "FROM", "CA", "TIMEOUT")


@pytest.fixture(scope="module")
def telemetry(tmp_path_factory):
    """A ready connector's telemetry, and the same connector with a connector bug."""
    folder = tmp_path_factory.mktemp("telemetry")
    simulate(SimulationSpec(**SPEC), folder / "ok.parquet")
    simulate(SimulationSpec(**SPEC, incidents=[BUG]), folder / "bug.parquet")
    low_usage = {**SPEC, "connections": 40, "requests_per_day": 1500}
    simulate(SimulationSpec(**low_usage), folder / "low.parquet")
    return folder


@pytest.fixture
def project(tmp_path, monkeypatch, telemetry):
    """A publisher's folder: ga.toml pointing at the ready telemetry; no SMTP settings."""
    tmp_path.joinpath("ga.toml").write_text(
        GA_TOML.format(telemetry=(telemetry / "ok.parquet").as_posix()), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    for name in SMTP_ENV_NAMES:
        monkeypatch.delenv(f"CONNECTOR_GA_SMTP_{name}", raising=False)
    return tmp_path


def invoke(*args: str, env: dict | None = None):
    # These tests read what a line says; a wide terminal keeps each on one line (the
    # wrapping at 80 columns is tests/test_terminal_width.py's).
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


def parse_eml(path) -> object:
    with open(path, "rb") as handle:
        return BytesParser(policy=policy.default).parse(handle)


# ---- drafting ----------------------------------------------------------------------------


def test_request_writes_the_eml_with_its_evidence(project):
    out = invoke("request", "--out", "outbox")
    assert out.exit_code == 0, out.output
    eml = project / "outbox" / "ga-request.eml"
    message = parse_eml(eml)
    assert message["To"] == RECIPIENT
    assert message["From"] == "connectors@contoso.com"  # the support contact, by default
    subject = message["Subject"]
    assert "Contoso Tasks" in subject and "contoso-tasks" in subject
    assert "Contoso Ltd" in subject
    assert eml.read_bytes().count(b"\r\n") > 10  # RFC 5322 line ends

    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    report_name, result_name = "contoso-tasks-ga-report.html", "contoso-tasks-ga-result.json"
    assert set(attachments) == {report_name, result_name}
    assert attachments[report_name].get_content_type() == "text/html"
    assert attachments[result_name].get_content_type() == "application/json"
    report = attachments[report_name].get_payload(decode=True)
    result_bytes = attachments[result_name].get_payload(decode=True)
    # The files beside the .eml are the attachments, byte for byte.
    assert (project / "outbox" / report_name).read_bytes() == report
    assert (project / "outbox" / result_name).read_bytes() == result_bytes
    assert b"<svg" in report

    result = Result.model_validate(json.loads(result_bytes))
    assert result.verdict == "ready"
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (plain, html):
        assert "Contoso Tasks" in body and "contoso-tasks" in body and "Contoso Ltd" in body
        assert "2026-03-02" in body  # preview since
        assert "gcc-high" in body and "https://api.contoso.us" in body  # the other cloud
        assert "connectors@contoso.com" in body  # support contact
        assert "Mon-Fri 08:00-17:00" in body and "Mon-Fri 08:00-18:00" in body
        assert "2026-10-22" in body and "2026-11-20" in body  # the window
        for c in result.criteria:
            assert wording.title(c.id) in body
            assert wording.format_value(c) in body or c.value is None, c.id
            if c.sample is not None:
                assert f"{c.sample:,}" in body
    # The body's numbers are the Result's: eligible requests and availability.
    availability = result.criterion("availability")
    assert f"sample: {availability.sample:,} eligible requests" in plain
    assert f"{availability.value * 100:.3f}%" in plain
    assert "None needed: every criterion passes." in plain


def test_request_on_a_not_ready_connector_refuses(project, telemetry):
    out = invoke("request", "-t", str(telemetry / "bug.parquet"))
    assert out.exit_code == 1, out.output
    assert "not-ready" in out.output
    assert "availability (fail" in out.output and "slo (fail" in out.output
    assert "--force" in out.output
    assert not (project / "ga-request.eml").exists()
    status = invoke("request", "status")
    assert status.exit_code == 1  # nothing recorded
    assert "no GA request recorded" in status.output


def test_force_drafts_a_not_ready_request_and_says_so(project, telemetry):
    out = invoke("request", "-t", str(telemetry / "bug.parquet"), "--force")
    assert out.exit_code == 0, out.output
    assert "despite the verdict not-ready" in out.output
    message = parse_eml(project / "ga-request.eml")
    assert message["X-Connector-GA-Verdict"] == "not-ready"
    assert "Blocking criteria: Availability, SLO" in message.get_body(("plain",)).get_content()


def test_request_claims_the_exception_with_its_evidence(project, telemetry):
    out = invoke("request", "-t", str(telemetry / "low.parquet"))
    assert out.exit_code == 0, out.output
    message = parse_eml(project / "ga-request.eml")
    attached = {p.get_filename(): p for p in message.iter_attachments()}
    result = Result.model_validate_json(
        attached["contoso-tasks-ga-result.json"].get_payload(decode=True)
    )
    assert result.verdict == "ready-with-exception"
    assert result.exception == "low-usage-after-6-months"
    mac = result.criterion("monthly-active-connections")
    assert mac.status == "fail" and mac.value < 50  # 40 connections at most
    plain = message.get_body(("plain",)).get_content()
    claimed = plain[plain.index("Exception claimed") : plain.index("Other clouds requested")]
    assert "low-usage-after-6-months" in claimed
    assert f"monthly active connections {mac.value}" in claimed
    # preview since 2026-03-02, as of 2026-11-20: 8 whole months (Mar 2 → Nov 2)
    assert "in preview since 2026-03-02: 8 whole months as of 2026-11-20" in claimed
    assert "every required criterion passes" in claimed


def test_request_needs_a_publisher(project):
    toml = project / "ga.toml"
    toml.write_text(toml.read_text().replace('publisher = "Contoso Ltd"\n', ""))
    out = invoke("request")
    assert out.exit_code == 2
    assert "connector.publisher" in out.output
    assert "Traceback" not in out.output


# ---- ledger and status -------------------------------------------------------------------


def test_status_follows_draft_then_send_and_sees_changed_evidence(project, telemetry):
    assert invoke("request").exit_code == 0
    status = invoke("request", "status")
    assert status.exit_code == 0, status.output
    assert "request #1 drafted" in status.output
    assert "not sent yet" in status.output
    assert "evidence unchanged since drafting" in status.output

    out = invoke("request", "record-sent", "--on", "2026-11-23")
    assert out.exit_code == 0, out.output
    assert "decision expected by 2026-12-23" in out.output  # 2026-11-23 + 30 days
    status = invoke("request", "status")
    assert "request #1 sent" in status.output
    assert "sent 2026-11-23" in status.output
    assert "decision expected by 2026-12-23" in status.output
    assert "evidence unchanged since sending" in status.output

    # The same connector, now with a connector bug in its telemetry.
    changed = invoke("request", "status", "-t", str(telemetry / "bug.parquet"))
    assert changed.exit_code == 0, changed.output
    assert "evidence changed since sending" in changed.output
    assert "verdict ready → not-ready" in changed.output
    assert "availability pass → fail" in changed.output


def _attachments_line(output: str) -> str:
    lines = [x for x in output.splitlines() if "attachments changed or missing" in x]
    assert len(lines) == 1, output
    return lines[0]


def test_status_sees_modified_attachments(project):
    assert invoke("request").exit_code == 0
    report = project / "contoso-tasks-ga-report.html"
    report.write_text(report.read_text() + "<!-- edited -->")
    status = invoke("request", "status")
    line = _attachments_line(status.output)
    assert "contoso-tasks-ga-report.html (changed)" in line
    assert "ga-result.json" not in line


def _forget_report_hash(project):
    """The ledger row as a connector-ga that recorded no report hash wrote it."""
    from connector_ga.store import Store

    with Store.open(project / ".connector-ga" / "store.duckdb", write=True) as store:
        store.con.raw_sql("UPDATE store.requests_ledger SET report_hash = NULL")


@pytest.mark.parametrize("recorded", ["report hash recorded", "no report hash (older ledger)"])
def test_status_names_only_the_edited_json(project, recorded):
    """Issue 16 item 8: only the JSON edited, `request status` named the report as well."""
    assert invoke("request").exit_code == 0
    if recorded.startswith("no"):
        _forget_report_hash(project)
    result = project / "contoso-tasks-ga-result.json"
    data = json.loads(result.read_text())
    data["verdict"] = "ready"
    result.write_text(json.dumps(data, indent=1))
    status = invoke("request", "status")
    assert status.exit_code == 0, status.output
    line = _attachments_line(status.output)
    assert "contoso-tasks-ga-result.json (changed)" in line
    assert "ga-report.html" not in line


def test_status_names_a_missing_attachment_only(project):
    assert invoke("request").exit_code == 0
    (project / "contoso-tasks-ga-report.html").unlink()
    line = _attachments_line(invoke("request", "status").output)
    assert "contoso-tasks-ga-report.html (missing)" in line
    assert "ga-result.json" not in line


def test_ledger_store_does_not_hide_the_telemetry_from_check(project):
    """`request` creates the store for its ledger; `check` still reads ga.toml's files."""
    assert invoke("request").exit_code == 0
    assert (project / ".connector-ga" / "store.duckdb").exists()
    out = invoke("check")
    assert out.exit_code == 0, out.output
    assert "READY" in out.output


def test_evidence_hash_covers_both_attachments():
    assert evidence_hash(b"report", b"json") != evidence_hash(b"report", b"json2")
    assert evidence_hash(b"report", b"json") != evidence_hash(b"report2", b"json")
    assert evidence_hash(b"ab", b"c") != evidence_hash(b"a", b"bc")  # length-prefixed


# ---- sending over SMTP (aiosmtpd on 127.0.0.1, STARTTLS, AUTH required) ------------------


def _self_signed(folder):
    """A certificate for 127.0.0.1 and localhost, and its key, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp_server(tmp_path_factory):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    folder = tmp_path_factory.mktemp("smtp")
    cert, key = _self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"publisher"
            and auth_data.password == PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)  # not handled: 535 on failure

    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=_free_port(),
        ready_timeout=10,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield controller, inbox, cert
    finally:
        controller.stop()


def smtp_env(controller, cert, password=PASSWORD, ca=True) -> dict:
    env = {
        "CONNECTOR_GA_SMTP_HOST": "127.0.0.1",
        "CONNECTOR_GA_SMTP_PORT": str(controller.port),
        "CONNECTOR_GA_SMTP_USER": "publisher",
        "CONNECTOR_GA_SMTP_PASSWORD": password,
        "CONNECTOR_GA_SMTP_FROM": "ga-requests@contoso.com",
        "CONNECTOR_GA_SMTP_TIMEOUT": "10",
    }
    if ca:
        env["CONNECTOR_GA_SMTP_CA"] = str(cert)
    return env


def test_send_delivers_the_whole_message(project, smtp_server):
    controller, inbox, cert = smtp_server
    before = len(inbox.messages)
    out = invoke("request", "--send", env=smtp_env(controller, cert))
    assert out.exit_code == 0, out.output
    assert PASSWORD not in out.output
    assert len(inbox.messages) == before + 1
    mail_from, rcpt_tos, content = inbox.messages[-1]
    assert rcpt_tos == [RECIPIENT]
    assert mail_from == "ga-requests@contoso.com"
    received = BytesParser(policy=policy.default).parsebytes(content)
    written = parse_eml(project / "ga-request.eml")
    assert received["Subject"] == written["Subject"]
    assert received["Message-ID"] == written["Message-ID"]
    assert received["From"] == "ga-requests@contoso.com"
    for kind in ("plain", "html"):
        body = received.get_body((kind,)).get_content().replace("\r\n", "\n")
        assert body == written.get_body((kind,)).get_content().replace("\r\n", "\n")
    got = {p.get_filename(): p.get_payload(decode=True) for p in received.iter_attachments()}
    assert got == {
        "contoso-tasks-ga-report.html": (project / "contoso-tasks-ga-report.html").read_bytes(),
        "contoso-tasks-ga-result.json": (project / "contoso-tasks-ga-result.json").read_bytes(),
    }
    today = dt.datetime.now(dt.UTC).date()
    assert f"decision expected by {today + dt.timedelta(days=30)}" in out.output
    status = invoke("request", "status")
    assert "request #1 sent" in status.output
    assert f"sent {today}" in status.output
    for stored in (project / ".connector-ga").iterdir():
        assert PASSWORD.encode() not in stored.read_bytes()  # never written
    # A second send before the decision is due is refused.
    again = invoke("request", "--send", env=smtp_env(controller, cert))
    assert again.exit_code == 1
    assert "already" in again.output or "was sent on" in again.output
    assert len(inbox.messages) == before + 1


def test_send_with_a_wrong_password_is_a_clear_error(project, smtp_server):
    controller, inbox, cert = smtp_server
    before = len(inbox.messages)
    out = invoke("request", "--send", env=smtp_env(controller, cert, password="wrong-Secret-42"))
    assert out.exit_code == 2, out.output
    assert "SMTP authentication failed for user publisher" in out.output
    assert "Traceback" not in out.output
    assert "wrong-Secret-42" not in out.output
    assert len(inbox.messages) == before
    assert "still drafted" in out.output  # the .eml is there to send by hand


def test_send_without_trusting_the_certificate_is_a_tls_error(project, smtp_server):
    controller, _, cert = smtp_server
    out = invoke("request", "--send", env=smtp_env(controller, cert, ca=False))
    assert out.exit_code == 2, out.output
    assert "TLS failure" in out.output and "CONNECTOR_GA_SMTP_CA" in out.output
    assert "Traceback" not in out.output
    assert PASSWORD not in out.output


def test_send_to_a_closed_port_is_connection_refused(project, smtp_server):
    _, _, cert = smtp_server
    env = {
        "CONNECTOR_GA_SMTP_HOST": "127.0.0.1",
        "CONNECTOR_GA_SMTP_PORT": str(_free_port()),
        "CONNECTOR_GA_SMTP_USER": "publisher",
        "CONNECTOR_GA_SMTP_PASSWORD": PASSWORD,
        "CONNECTOR_GA_SMTP_TIMEOUT": "5",
    }
    out = invoke("request", "--send", env=env)
    assert out.exit_code == 2, out.output
    assert "connection refused" in out.output
    assert PASSWORD not in out.output


def test_send_without_settings_fails_before_writing(project):
    out = invoke("request", "--send")
    assert out.exit_code == 2
    assert "CONNECTOR_GA_SMTP_HOST" in out.output
    assert not (project / "ga-request.eml").exists()


def test_ledger_upgrades_a_store_made_with_the_first_ledger_columns(tmp_path):
    from connector_ga import ledger
    from connector_ga.store import Store

    path = tmp_path / "store.duckdb"
    with Store.open(path, create=True) as store:
        store.con.raw_sql("DROP TABLE store.requests_ledger")
        store.con.raw_sql(
            """CREATE TABLE store.requests_ledger (
            id BIGINT, connector VARCHAR, state VARCHAR, drafted_at TIMESTAMPTZ,
            sent_at TIMESTAMPTZ, verdict VARCHAR, evidence_hash VARCHAR, message_path VARCHAR)"""
        )
    drafted = dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC)
    with Store.open(path, write=True) as store:
        entry = ledger.LedgerEntry(
            id=1,
            connector="contoso-tasks",
            state="drafted",
            drafted_at=drafted,
            verdict="ready",
            evidence_hash="ab" * 32,
            message_path="/tmp/ga-request.eml",
            as_of=dt.date(2026, 11, 20),
        )
        ledger.append(store, entry)
        ledger.append(
            store, ledger.LedgerEntry(**{**entry.__dict__, "state": "sent", "sent_at": drafted})
        )
    with Store.open(path) as store:
        rows = ledger.entries(store, "contoso-tasks")
    assert [r.state for r in rows] == ["drafted", "sent"]
    assert rows[-1].as_of == dt.date(2026, 11, 20)
    assert rows[-1].sent_at == drafted
    assert rows[-1].decision_expected == dt.date(2026, 12, 21)  # 2026-11-21 + 30 days
