"""Structured JSON logs in Cloud Logging's format, with provider keys redacted from every record.

Cloud Logging reads one JSON object per line on stdout/stderr: ``severity``, ``message`` and, to correlate a log
line with its request, ``logging.googleapis.com/trace``. Anything shaped like a provider credential or an
alert webhook's signing secret is replaced by ``[REDACTED]`` in the message, its arguments, the exception text and any
extra fields, before a handler sees it: OpenAI and Anthropic keys (``sk-...``, ``sk-admin-...``, ``sk-ant-...``),
webhook secrets (``whsec_...``), PEM private keys (a Google service-account key's ``private_key``, even cut short or
with its newlines escaped), the value of any ``private_key`` field of a JSON or Python dict rendering, Google
OAuth access tokens (``ya29....``), and AWS secret access keys, session tokens and web identity tokens by their field
or XML element names (Bedrock).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# Provider secret keys: OpenAI (sk-..., sk-proj-..., sk-admin-...) and Anthropic (sk-ant-...), and our alert webhooks'
# signing secrets (whsec_...). Keys are long; the minimum of 8 trailing characters avoids redacting ordinary words
# such as "sk-learn".
KEY_PATTERN = re.compile(r"(?:sk-|whsec_)[A-Za-z0-9_\-]{8,}")
# A PEM private key block (RSA, EC, PKCS#8, encrypted), up to its END line or, when the text was cut, to the end.
PEM_PATTERN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL)
# The value of a "private_key" field, in JSON ("private_key": "...") or a Python repr ('private_key': '...').
PRIVATE_KEY_FIELD = re.compile(r"""(["']private_key["']\s*:\s*)(?:"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)""")
# Google OAuth 2.0 access tokens minted from a service-account key.
ACCESS_TOKEN_PATTERN = re.compile(r"ya29\.[A-Za-z0-9_\-.]{8,}")
# AWS secrets by the names AWS and the platform give them: a JSON/repr/form field or an STS XML element holding a
# secret access key, a session token or a web identity token (AWS secret keys have no prefix to recognise them by).
AWS_SECRET_FIELD = re.compile(
    r"""((?:["']?(?:secret_access_key|SecretAccessKey|session_token|SessionToken|WebIdentityToken)["']?\s*[:=]\s*)"""
    r"""|<(?:SecretAccessKey|SessionToken)>)(?:"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^\s&,}<"']+)"""
)
REDACTED = "[REDACTED]"

trace_context: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_context", default=None)
"""The current request's trace resource name, set by the web layer from ``X-Cloud-Trace-Context``."""

_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def redact(text: str) -> str:
    """Replace every substring shaped like a provider credential (see the module docstring)."""
    text = PRIVATE_KEY_FIELD.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    text = PEM_PATTERN.sub(REDACTED, text)
    text = ACCESS_TOKEN_PATTERN.sub(REDACTED, text)
    text = AWS_SECRET_FIELD.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return KEY_PATTERN.sub(REDACTED, text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """Rewrites a record in place so no handler can emit a provider key.

    Installed on handlers (not loggers) so it also covers records from third-party libraries.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, _redact_value(value))
        return True


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per line, with the fields Cloud Logging understands."""

    def __init__(self, project_id: str) -> None:
        super().__init__()
        self.project_id = project_id

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "logger": record.name,
        }
        if record.exc_text:
            entry["message"] += "\n" + record.exc_text
        trace = trace_context.get()
        if trace:
            entry["logging.googleapis.com/trace"] = f"projects/{self.project_id}/traces/{trace}"
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        return json.dumps(entry, default=str)


_configured = False


def configure_logging(project_id: str, level: int = logging.INFO) -> None:
    """Install the JSON handler with redaction on the root logger (once per process)."""
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudLoggingFormatter(project_id))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    _configured = True


def install_redaction(handler: logging.Handler) -> None:
    """Add redaction to an existing handler (tests use it on pytest's capture handler)."""
    handler.addFilter(RedactingFilter())
