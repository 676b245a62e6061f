"""Telling people what a watch found: a webhook (Slack, Teams or anything that takes a
JSON POST) and an email.

Only changes are told: an alert episode that started or resolved, a criterion whose
status changed since the previous watch. Each connector with a change is one message:

- webhook: an HTTP(S) POST of the connector's `connector-ga/watch/v1` object with a
  `text` field first (one paragraph, which Slack and Teams incoming webhooks show);
- smtp: an email over SMTP with STARTTLS (`mail.py`, the CONNECTOR_GA_SMTP_* settings a
  GA request uses) to CONNECTOR_GA_SMTP_TO, else ga.toml's support contact.

A failure is one line (the webhook shown as scheme://host/…, never its path, query string
or credentials: Slack and Teams keep the webhook's secret in its path; the SMTP password
never shown) and nothing is recorded, so the next watch tells again.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from .. import __version__
from ..errors import InputError
from ..mail import PREFIX, SmtpSettings, send
from ..outputs.watch_wording import headline, summary
from .watch import Watch

WEBHOOK_TIMEOUT_SECONDS = 10.0
RETRY = "nothing recorded: the next watch notifies again"


# ---- what is sent (the sentences: outputs/watch_wording.py) ----------------------------


def payload(w: Watch) -> dict:
    return {"text": summary(w), **w.to_json_dict()}


# ---- webhooks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Webhook:
    url: str = field(repr=False)  # may hold a token: shown only as `shown`
    timeout: float = WEBHOOK_TIMEOUT_SECONDS

    @property
    def shown(self) -> str:
        """scheme://host/…: no credentials, path or query string (where secrets are)."""
        return shown_url(self.url)

    def notify(self, w: Watch) -> None:
        timeout = self.timeout
        body = json.dumps(payload(w), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": f"connector-ga/{__version__}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise self._failed(f"HTTP {exc.code} {exc.reason}".strip()) from None
        except urllib.error.URLError as exc:
            raise self._failed(_why(exc.reason, timeout)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._failed(_why(exc, timeout)) from None

    def _failed(self, why: str) -> InputError:
        return InputError(f"webhook {self.shown} failed: {why}; {RETRY}")


def _safe(text: str) -> str:
    """A value the user gave, shown without what a URL may hide in it."""
    head, sep, url = text.partition("=")
    if not sep or "://" in head:
        head, sep, url = "", "", text
    if "://" not in url:
        return text
    try:
        return head + sep + shown_url(url)
    except ValueError:
        return head + sep + url.partition("://")[0] + "://…"


def shown_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    path = "/…" if parts.path.strip("/") else parts.path
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{path}"


def _why(reason: object, timeout: float) -> str:
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve the host ({reason.strerror})"
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({reason.verify_message or reason.reason})"
    if isinstance(reason, ssl.SSLError):
        return f"TLS failure ({reason.reason or reason})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    text = " ".join(str(reason).split())
    return text or type(reason).__name__


# ---- email -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Email:
    settings: SmtpSettings
    sender: str
    recipient: str

    @property
    def shown(self) -> str:
        return f"email to {self.recipient} via {self.settings.where}"

    def notify(self, w: Watch) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = self.recipient
        message["Subject"] = f"[connector-ga] {w.connector}: {headline(w)}"
        message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(
            summary(w) + "\n\nconnector-ga/watch/v1:\n" + json.dumps(w.to_json_dict(), indent=2)
        )
        try:
            send(message, self.settings)
        except InputError as exc:
            raise InputError(f"email notification failed: {exc.message}; {RETRY}") from None


def email_target(contact: str | None) -> Email:
    """The SMTP settings `request --send` uses, and whom to write to."""
    import os

    if not os.environ.get(PREFIX + "HOST", "").strip():
        raise InputError(
            f"--notify smtp needs {PREFIX}HOST (and {PREFIX}PORT, {PREFIX}USER, "
            f"{PREFIX}PASSWORD, {PREFIX}FROM, {PREFIX}TO)"
        )
    settings = SmtpSettings.from_env()
    recipient = settings.recipient or contact
    if not recipient:
        raise InputError(
            f"--notify smtp needs a recipient: set {PREFIX}TO (or a support contact in "
            "ga.toml [support.connector])"
        )
    sender = settings.sender or contact
    if not sender:
        raise InputError(
            f"--notify smtp needs a sender: set {PREFIX}FROM (or a support contact in "
            "ga.toml [support.connector])"
        )
    return Email(settings, sender, recipient)


# ---- the targets -------------------------------------------------------------------------


Target = Webhook | Email


def parse_targets(values: Sequence[str]) -> tuple[list[Webhook], bool]:
    """`--notify` values: the webhooks, and whether email was asked for. Anything but
    `smtp` or `webhook=http(s)://…` is a usage error."""
    webhooks: list[Webhook] = []
    smtp = False
    for value in values:
        if value.strip() == "smtp":
            smtp = True
            continue
        kind, eq, url = value.partition("=")
        url = url.strip()
        if kind.strip() != "webhook" or not eq:
            raise InputError(f"--notify {_safe(value)}: expected smtp or webhook=https://…")
        try:
            parts = urlsplit(url)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            valid = False
        if not valid:
            raise InputError(f"--notify webhook={_safe(url)}: expected an http:// or https:// URL")
        hook = Webhook(url)
        if hook not in webhooks:
            webhooks.append(hook)
    return webhooks, smtp


def notify_all(watches: Sequence[Watch], targets: Sequence[Target]) -> list[str]:
    """Tell every target about every connector with a change; stops at the first failure
    (an InputError). Returns what was sent, one line each."""
    sent = []
    for w in watches:
        if not w.changes:
            continue
        for target in targets:
            target.notify(w)
            sent.append(f"{w.connector}: {target.shown}")
    return sent
