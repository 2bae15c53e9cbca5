"""``Mailer`` over SMTP with the standard library: one connection per message.

``smtp_security`` selects plain SMTP (``none``, the local sink only), ``starttls`` (port 587) or implicit TLS
(``tls``, port 465); TLS verifies the server's certificate with the system's trust store. With ``smtp_username``
set the mailer logs in with ``smtp_password``, which is read only to be handed to ``login`` and never logged.

Failures are translated so callers can decide whether to retry:

* connection errors, timeouts, a dropped connection and 4xx replies → ``DependencyUnavailable`` (transient);
* 5xx replies (sender or every recipient refused, message rejected) → ``PlatformError`` ``mail_rejected``;
* authentication refused → ``PlatformError`` ``mail_auth_failed`` (a configuration error).

Messages say which step failed and the reply code, never addresses' or messages' content.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from shared.config import Settings
from shared.errors import DependencyUnavailable, PlatformError

log = logging.getLogger(__name__)


class SmtpMailer:
    """Sends messages through the settings' SMTP relay.

    Args:
        settings: ``smtp_host``, ``smtp_port``, ``smtp_security``, ``smtp_username``, ``smtp_password``, ``mail_from``.
        timeout_s: Socket timeout of every SMTP step.
    """

    def __init__(self, settings: Settings, *, timeout_s: float = 10.0) -> None:
        self._settings = settings
        self._timeout_s = timeout_s

    def send(self, message: EmailMessage) -> None:
        """Send ``message``, adding ``From: mail_from`` if it has none.

        Raises:
            DependencyUnavailable: The relay is unreachable or answered a transient (4xx) failure.
            PlatformError: The relay refused the message or our credentials (permanent).
        """
        if message["From"] is None:
            message["From"] = self._settings.mail_from
        try:
            with self._connect() as smtp:
                self._secure_and_login(smtp)
                refused = smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as e:
            raise PlatformError(f"the mail relay refused our login ({e.smtp_code})", code="mail_auth_failed") from e
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            raise _reply_error("every recipient was refused", max(codes, default=550)) from e
        except smtplib.SMTPResponseException as e:
            raise _reply_error("the mail relay refused the message", e.smtp_code) from e
        except (smtplib.SMTPException, OSError) as e:
            raise DependencyUnavailable(f"the mail relay is unavailable ({type(e).__name__})") from e
        if refused:
            log.warning("some recipients were refused", extra={"refused_count": len(refused)})
        log.info("mail sent", extra={"recipient_count": len(message.get_all("To", [])) or None})

    def _connect(self) -> smtplib.SMTP:
        host, port = self._settings.smtp_host, self._settings.smtp_port
        if self._settings.smtp_security == "tls":
            return smtplib.SMTP_SSL(host, port, timeout=self._timeout_s, context=ssl.create_default_context())
        return smtplib.SMTP(host, port, timeout=self._timeout_s)

    def _secure_and_login(self, smtp: smtplib.SMTP) -> None:
        if self._settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if self._settings.smtp_username:
            password = self._settings.smtp_password
            smtp.login(self._settings.smtp_username, password.get_secret_value() if password else "")


def _reply_error(what: str, code: int) -> PlatformError:
    """4xx replies are transient (greylisting, full mailbox, rate limits); anything else is permanent."""
    if 400 <= code < 500:
        return DependencyUnavailable(f"{what} for now ({code})")
    return PlatformError(f"{what} ({code})", code="mail_rejected")
