"""Sending the request: SMTP with STARTTLS, settings from CONNECTOR_GA_SMTP_* variables.

The password is read from the environment, handed to smtplib, and never printed, logged
or written; every failure becomes one InputError line that does not contain it.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from .errors import InputError

PREFIX = "CONNECTOR_GA_SMTP_"
DEFAULT_PORT = 587
TIMEOUT_SECONDS = 30.0


@dataclass
class SmtpSettings:
    host: str
    port: int = DEFAULT_PORT
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str | None = None
    ca_file: Path | None = None
    timeout: float = TIMEOUT_SECONDS
    # _TO: where `watch --notify smtp` writes; a GA request always goes to Microsoft.
    recipient: str | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings:
        """Read CONNECTOR_GA_SMTP_HOST, _PORT, _USER, _PASSWORD, _FROM, _TO, _CA, _TIMEOUT."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(PREFIX + name, "").strip()
            return value or None

        host = get("HOST")
        if not host:
            raise InputError(
                f"--send needs {PREFIX}HOST (and {PREFIX}PORT, {PREFIX}USER, {PREFIX}PASSWORD, "
                f"{PREFIX}FROM); without --send the request is only written as .eml"
            )
        port_text = get("PORT") or str(DEFAULT_PORT)
        try:
            port = int(port_text)
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise InputError(f"{PREFIX}PORT {port_text!r}: expected a port number") from None
        user, password = get("USER"), env.get(PREFIX + "PASSWORD") or None
        if bool(user) != bool(password):
            missing = "PASSWORD" if user else "USER"
            raise InputError(f"{PREFIX}{missing} is not set: set both USER and PASSWORD, or none")
        ca = get("CA")
        ca_file = Path(ca) if ca else None
        if ca_file is not None and not ca_file.is_file():
            raise InputError(f"{PREFIX}CA {ca}: file not found (a PEM file of trusted CAs)")
        timeout_text = get("TIMEOUT") or str(TIMEOUT_SECONDS)
        try:
            timeout = float(timeout_text)
        except ValueError:
            raise InputError(f"{PREFIX}TIMEOUT {timeout_text!r}: expected seconds") from None
        sender = get("FROM") or (user if user and "@" in user else None)
        return cls(host, port, user, password, sender, ca_file, timeout, get("TO"))

    def tls_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        except (ssl.SSLError, OSError) as exc:
            raise InputError(f"{PREFIX}CA {self.ca_file}: not a PEM file of CAs ({exc})") from None


def _clean(text: object, settings: SmtpSettings) -> str:
    """One line, and never the password."""
    line = " ".join(str(text).split())
    if settings.password:
        line = line.replace(settings.password, "********")
    return line


def _server_said(exc: smtplib.SMTPResponseException, settings: SmtpSettings) -> str:
    message = exc.smtp_error
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return _clean(f"{exc.smtp_code} {message}", settings)


def send(message: EmailMessage, settings: SmtpSettings) -> None:
    """Send over SMTP, upgraded with STARTTLS before anything else (authentication included).

    Refuses to send in clear text: a server that does not offer STARTTLS is an error.
    """
    where = settings.where
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                raise InputError(
                    f"SMTP server {where} does not offer STARTTLS: refusing to send the "
                    "request unencrypted"
                )
            smtp.starttls(context=settings.tls_context())
            smtp.ehlo()
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            smtp.send_message(message)
    except InputError:
        raise
    except ConnectionRefusedError:
        raise InputError(f"cannot connect to SMTP server {where}: connection refused") from None
    except ssl.SSLCertVerificationError as exc:
        reason = _clean(exc.verify_message or exc.reason or exc, settings)
        raise InputError(
            f"TLS failure with SMTP server {where}: certificate not trusted ({reason}); "
            f"set {PREFIX}CA to a PEM file to trust a private CA"
        ) from None
    except ssl.SSLError as exc:
        raise InputError(
            f"TLS failure with SMTP server {where}: {_clean(exc.reason or exc, settings)}"
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise InputError(
            f"SMTP authentication failed for user {settings.user} at {where}: "
            f"{_server_said(exc, settings)}"
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise InputError(f"SMTP server {where}: {_clean(exc, settings)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(exc.recipients)
        raise InputError(f"SMTP server {where} refused the recipient {refused}") from None
    except smtplib.SMTPSenderRefused as exc:
        raise InputError(
            f"SMTP server {where} refused the sender {exc.sender}: {_server_said(exc, settings)}"
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise InputError(f"SMTP server {where} said: {_server_said(exc, settings)}") from None
    except smtplib.SMTPServerDisconnected as exc:
        raise InputError(
            f"SMTP server {where} closed the connection: {_clean(exc, settings)}"
        ) from None
    except smtplib.SMTPException as exc:
        raise InputError(f"SMTP error with {where}: {_clean(exc, settings)}") from None
    except TimeoutError:
        raise InputError(
            f"SMTP server {where} did not answer within {settings.timeout:g} s"
        ) from None
    except socket.gaierror as exc:
        raise InputError(f"cannot resolve SMTP host {settings.host}: {exc.strerror}") from None
    except OSError as exc:
        raise InputError(
            f"cannot connect to SMTP server {where}: {_clean(exc.strerror or exc, settings)}"
        ) from None
