"""`connector-ga review`: the receiving side checks requests written by `request`.

One request is drafted (module fixture) from hand-made telemetry whose figures are known
exactly; each test edits a copy of that email the way a careless or dishonest sender
might, and reads which check catches it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mailbox
from email import policy
from email.parser import BytesParser
from importlib import resources

import pytest
from conftest import write_csv
from typer.testing import CliRunner

from connector_ga.cli import app
from connector_ga.contracts import validation_errors
from connector_ga.policy import DEFAULT_POLICY
from connector_ga.request import evidence_hash

# 30 UTC days 2026-10-22 .. 2026-11-20, 3 connections (one user each), 10 requests a day
# each, all answered 200: 30 x 3 x 10 = 900 eligible requests, no fault.
DAYS = [dt.date(2026, 10, 22) + dt.timedelta(days=k) for k in range(30)]
GA_TOML = """
[connector]
id = "contoso-tasks"
title = "Contoso Tasks"
publisher = "Contoso Ltd"
preview_since = 2026-03-02

[telemetry]
paths = ["publisher.csv"]

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
"""
RESULT, REPORT = "contoso-tasks-ga-result.json", "contoso-tasks-ga-report.html"
runner = CliRunner()


def _rows(status: int, backend_status: int, per_day: int, connections=("c1", "c2", "c3")):
    return [
        {
            "time": f"{day}T{9 + k % 8:02d}:{k:02d}:00Z",
            "status": status,
            "backend_status": backend_status,
            "operation": "ListTasks",
            "connection_id": conn,
            "user_id": "u" + conn[1:],
        }
        for day in DAYS
        for conn in connections
        for k in range(per_day)
    ]


@pytest.fixture(scope="module")
def drafted(tmp_path_factory):
    """The publisher's folder with its drafted request, and the reviewer's telemetry: the
    same requests plus 10 client errors (404 from the backend) a day on c1, which the
    publisher's logs lack."""
    folder = tmp_path_factory.mktemp("publisher")
    write_csv(folder / "publisher.csv", _rows(200, 200, 10))
    write_csv(folder / "reviewer.csv", _rows(200, 200, 10) + _rows(404, 404, 10, ("c1",)))
    (folder / "ga.toml").write_text(GA_TOML, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # the request's ledger row goes to the publisher's own store
        out = runner.invoke(
            app, ["request", "--config", str(folder / "ga.toml"), "--out", str(folder / "outbox")]
        )
    assert out.exit_code == 0, out.output
    assert (folder / ".connector-ga" / "store.duckdb").is_file()
    return folder


@pytest.fixture
def eml(drafted):
    return (drafted / "outbox" / "ga-request.eml").read_bytes()


def review(*args: str):
    return runner.invoke(app, ["review", *args], env={"COLUMNS": "200"})


def review_json(*args: str) -> dict:
    out = review(*args, "--json", "-")
    assert out.exit_code in (0, 1), out.output
    document = json.loads(out.stdout)
    assert validation_errors(document, "review") == []
    return document


def failed(request: dict) -> list[str]:
    return [c["check"] for c in request["checks"] if not c["ok"]]


def problems(request: dict, check: str) -> list[str]:
    return next(c["problems"] for c in request["checks"] if c["check"] == check)


# ---- editing a request as a sender might ------------------------------------------------


def parse(data: bytes):
    return BytesParser(policy=policy.default).parsebytes(data)


def attachment(message, name: str):
    return next(p for p in message.iter_attachments() if p.get_filename() == name)


def edited(eml: bytes, *, result=None, report: bytes | None = None, drop=None, restate=True):
    """The request with its JSON result edited by `result(dict)`, its report replaced, or
    an attachment dropped; `restate` writes the new hashes into the body, as a sender
    covering their tracks would."""
    message = parse(eml)
    old = {
        name: hashlib.sha256(attachment(message, name).get_payload(decode=True)).hexdigest()
        for name in (RESULT, REPORT)
    }
    old_evidence = evidence_hash(
        attachment(message, REPORT).get_payload(decode=True),
        attachment(message, RESULT).get_payload(decode=True),
    )
    if result is not None:
        part = attachment(message, RESULT)
        document = json.loads(part.get_payload(decode=True))
        result(document)
        data = (json.dumps(document, indent=2) + "\n").encode()
        part.set_content(data, maintype="application", subtype="json", filename=RESULT)
        if document.get("verdict") and message["X-Connector-GA-Verdict"]:
            message.replace_header("X-Connector-GA-Verdict", document["verdict"])
    if report is not None:
        part = attachment(message, REPORT)
        part.set_content(report, maintype="text", subtype="html", filename=REPORT)
    if drop is not None:
        message.set_payload([p for p in message.get_payload() if p.get_filename() != drop])
    if restate:
        body = message.get_body(("plain",))
        text = body.get_content()
        now = {
            name: hashlib.sha256(attachment(message, name).get_payload(decode=True)).hexdigest()
            for name in (RESULT, REPORT)
        }
        for name in (RESULT, REPORT):
            text = text.replace(old[name], now[name])
        text = text.replace(
            old_evidence,
            evidence_hash(
                attachment(message, REPORT).get_payload(decode=True),
                attachment(message, RESULT).get_payload(decode=True),
            ),
        )
        body.set_content(text, cte="quoted-printable")
    return message.as_bytes(policy=policy.SMTP)


def write(tmp_path, data: bytes, name: str = "request.eml"):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# ---- the checks -------------------------------------------------------------------------


def test_the_email_states_each_attachment_hash(eml):
    message = parse(eml)
    plain = message.get_body(("plain",)).get_content()
    report = attachment(message, REPORT).get_payload(decode=True)
    result = attachment(message, RESULT).get_payload(decode=True)
    assert f"- {REPORT} (SHA-256 {hashlib.sha256(report).hexdigest()})" in plain
    assert f"- {RESULT} (SHA-256 {hashlib.sha256(result).hexdigest()})" in plain
    assert evidence_hash(report, result) in plain


def test_a_clean_request_passes_every_check(drafted):
    document = review_json(str(drafted / "outbox" / "ga-request.eml"))
    assert document["ok"] is True
    (request,) = document["requests"]
    assert failed(request) == []
    assert [c["check"] for c in request["checks"]] == [
        "attachments",
        "hashes",
        "schema",
        "policy",
        "figures",
    ]
    assert request["connector"] == "contoso-tasks" and request["publisher"] == "Contoso Ltd"
    # Required criteria pass (900 of 900 without a fault); MAC is 3 < 50 and preview began
    # 2026-03-02, 6 months before 2026-11-20: the low-usage exception applies.
    assert request["claimed_verdict"] == "ready-with-exception"
    assert request["policy"] == {"name": "power-platform-ga", "version": "2026-11"}

    table = review(str(drafted / "outbox" / "ga-request.eml"))
    assert table.exit_code == 0, table.output
    assert "ready-with-exception" in table.output and "ok" in table.output


def test_an_edited_figure_is_caught_by_the_figures(eml, tmp_path):
    def five_connector_faults(doc):
        doc["metrics"]["faults"]["connector"] = 5
        doc["metrics"]["faults"]["none"] = 895

    path = write(tmp_path, edited(eml, result=five_connector_faults))
    (request,) = review_json(path)["requests"]
    assert failed(request) == ["figures"]
    lines = problems(request, "figures")
    # 1 - 5/900 = 0.99444 < 0.9995: availability fails, so the verdict is not-ready.
    assert any(
        line.startswith("availability: pass claimed, fail from the figures (99.444%")
        and "5 connector faults in 900 eligible requests" in line
        for line in lines
    ), lines
    assert any(line.startswith("verdict ready-with-exception claimed, not-ready") for line in lines)
    assert review(path).exit_code == 1


def test_an_edited_verdict_is_caught_by_the_figures(eml, tmp_path):
    def ready(doc):
        doc["verdict"], doc["exception"] = "ready", None

    path = write(tmp_path, edited(eml, result=ready))
    (request,) = review_json(path)["requests"]
    assert request["claimed_verdict"] == "ready"
    assert failed(request) == ["figures"]
    lines = problems(request, "figures")
    assert "verdict ready claimed, ready-with-exception from the figures" in lines[0]
    assert "exception none claimed, low-usage-after-6-months from the figures" in lines


def test_an_edited_criterion_value_is_caught(eml, tmp_path):
    def mac_of_60(doc):
        mac = next(c for c in doc["criteria"] if c["id"] == "monthly-active-connections")
        mac["value"], mac["status"] = 60, "pass"

    path = write(tmp_path, edited(eml, result=mac_of_60))
    (request,) = review_json(path)["requests"]
    lines = problems(request, "figures")
    # The figures say 3 connections (c1, c2, c3), under the bar of 50.
    assert "monthly-active-connections: value 60 claimed, 3 from the figures" in lines
    assert any(line.startswith("monthly-active-connections: pass claimed, fail") for line in lines)


def test_a_swapped_attachment_is_caught_by_the_hashes(eml, tmp_path):
    other = b"<!doctype html><title>another connector's report</title>\n"
    path = write(tmp_path, edited(eml, report=other, restate=False))
    (request,) = review_json(path)["requests"]
    assert failed(request) == ["hashes"]
    lines = problems(request, "hashes")
    assert lines[0].startswith(f"{REPORT}: SHA-256 {hashlib.sha256(other).hexdigest()[:16]}")
    assert "evidence SHA-256" in lines[1]


def test_a_missing_attachment_is_caught(eml, tmp_path):
    path = write(tmp_path, edited(eml, drop=RESULT, restate=False))
    (request,) = review_json(path)["requests"]
    assert failed(request) == ["attachments", "hashes", "schema", "policy", "figures"]
    assert problems(request, "attachments") == [
        "no JSON result attached (a file named CONNECTOR-ga-result.json)"
    ]
    assert f"the email states a SHA-256 for {RESULT}, which is not attached" in problems(
        request, "hashes"
    )
    assert problems(request, "figures") == ["not checked: no JSON result attached"]


def test_a_policy_that_does_not_exist_is_caught(eml, tmp_path):
    def stricter(doc):
        doc["policy"]["name"] = "stricter-ga"

    path = write(tmp_path, edited(eml, result=stricter))
    (request,) = review_json(path)["requests"]
    assert failed(request) == ["policy", "figures"]
    assert problems(request, "policy")[0].startswith(
        "policy 'stricter-ga' version '2026-11' is not known (known: power-platform-ga 2026-11"
    )
    # The reviewer who has that policy passes it: then the figures are judged under it.
    shipped = resources.files("connector_ga.policies").joinpath(f"{DEFAULT_POLICY}.toml")
    text = shipped.read_text(encoding="utf-8")
    own = tmp_path / "stricter.toml"
    own.write_text(text.replace('name = "power-platform-ga"', 'name = "stricter-ga"'))
    (request,) = review_json(path, "--policy", str(own))["requests"]
    assert failed(request) == []


def test_claimed_against_measured_on_the_reviewers_telemetry(drafted):
    document = review_json(
        str(drafted / "outbox" / "ga-request.eml"), "--telemetry", str(drafted / "reviewer.csv")
    )
    (request,) = document["requests"]
    assert failed(request) == ["telemetry"]
    measured = request["measured"]
    assert measured["as_of"] == "2026-11-20"
    differing = [c for c in measured["criteria"] if c["differs"]]
    # The reviewer sees 300 more eligible requests (10 a day x 30 days, 404 from the
    # backend: client faults, not connector faults): success rate 900/1200 = 75% <= 80%.
    # Availability (0 connector faults) and SLO (3 of 3 connections) are unchanged.
    assert [c["criterion"] for c in differing] == ["success-rate"]
    assert differing[0]["claimed_status"] == "pass" and differing[0]["claimed_value"] == "100.000%"
    assert differing[0]["measured_status"] == "fail"
    assert differing[0]["measured_value"] == "75.000%"
    assert measured["verdict"] == "not-ready"
    assert problems(request, "telemetry") == [
        "success-rate: pass claimed (100.000%), fail measured (75.000%)"
    ]

    table = review(str(drafted / "outbox" / "ga-request.eml"), "-t", str(drafted / "reviewer.csv"))
    assert table.exit_code == 1
    assert "claimed vs measured" in table.output and "differs" in table.output


def test_a_folder_and_an_mbox_of_requests(eml, tmp_path):
    def ready(doc):
        doc["verdict"], doc["exception"] = "ready", None

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.eml").write_bytes(eml)
    (inbox / "b.eml").write_bytes(edited(eml, result=ready))
    (inbox / "notes.txt").write_text("not a request: not read")
    document = review_json(str(inbox))
    assert [failed(r) for r in document["requests"]] == [[], ["figures"]]
    assert document["ok"] is False

    box = mailbox.mbox(tmp_path / "requests.mbox")
    box.add(eml)
    box.add(edited(eml, result=ready))
    box.close()
    document = review_json(str(tmp_path / "requests.mbox"))
    sources = [r["source"] for r in document["requests"]]
    assert sources == [f"{tmp_path / 'requests.mbox'}#1", f"{tmp_path / 'requests.mbox'}#2"]
    assert [failed(r) for r in document["requests"]] == [[], ["figures"]]


def _one_error_line(out, *expected: str) -> None:
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1, out.output
    for text in expected:
        assert text in lines[0], lines[0]


def test_malformed_input_is_one_line_naming_it(eml, tmp_path):
    notes = write(tmp_path, b"just some notes\nno headers at all\n", "notes.eml")
    _one_error_line(review(notes), "notes.eml", "not an email")

    other = write(tmp_path, b"Subject: lunch\r\nFrom: a@b.c\r\n\r\nSee you.\r\n", "lunch.eml")
    _one_error_line(review(other), "lunch.eml", "not a GA request")

    message = parse(eml)
    attachment(message, RESULT).set_content(
        b"{not json", maintype="application", subtype="json", filename=RESULT
    )
    broken = write(tmp_path, message.as_bytes(policy=policy.SMTP), "broken.eml")
    _one_error_line(
        review(broken), "broken.eml", f"attachment {RESULT}: not JSON", "line 1, column 2"
    )

    _one_error_line(review(str(tmp_path / "nowhere.eml")), "nowhere.eml", "no such file")
    empty = tmp_path / "empty"
    empty.mkdir()
    _one_error_line(review(str(empty)), "no .eml or .mbox file")
