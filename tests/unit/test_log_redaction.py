"""Provider keys never reach a log line, whatever part of the record carries them."""

from __future__ import annotations

import io
import json
import logging

import pytest

from shared.log import CloudLoggingFormatter, RedactingFilter, redact, trace_context

KEYS = [
    "sk-admin-AbCdEf0123456789ZZZZ",
    "sk-ant-admin01-QWERTYUIOPasdfgh_jk-lz",
    "sk-proj-0123456789abcdefXYZ",
    "sk-0123456789abcdefghij",
    "whsec_Zx0-9aBcDeFgHiJkLmNoPqRsTuVwXyZ_0123456789ab",
]


def _logger() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(CloudLoggingFormatter("demo-test"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"redaction-test-{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


@pytest.mark.parametrize("key", KEYS)
def test_keys_are_removed_from_message_args_extras_and_tracebacks(key: str) -> None:
    logger, stream = _logger()
    logger.info("connecting with %s", key)
    logger.warning(f"inline {key} in the message")
    logger.info("extra field", extra={"request": {"headers": {"Authorization": f"Bearer {key}"}}, "keys": [key]})
    try:
        raise RuntimeError(f"provider said no to {key}")
    except RuntimeError:
        logger.exception("call failed")
    output = stream.getvalue()
    assert key not in output
    assert key[8:] not in output  # not even the tail of it
    assert output.count("[REDACTED]") >= 5


def test_lines_are_cloud_logging_json_with_severity_and_trace() -> None:
    logger, stream = _logger()
    token = trace_context.set("abc123")
    try:
        logger.error("boom", extra={"enterprise_id": "ent_1"})
    finally:
        trace_context.reset(token)
    entry = json.loads(stream.getvalue().strip())
    assert entry["severity"] == "ERROR"
    assert entry["message"] == "boom"
    assert entry["enterprise_id"] == "ent_1"
    assert entry["logging.googleapis.com/trace"] == "projects/demo-test/traces/abc123"


def test_ordinary_words_are_left_alone() -> None:
    assert redact("we use sk-learn and task-queue; key sk-admin-12345678 rotated") == (
        "we use sk-learn and task-queue; key [REDACTED] rotated"
    )


def test_captured_test_logs_are_redacted_too(caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("shared.anything").info("key=%s", KEYS[0])
    assert KEYS[0] not in caplog.text


def test_google_private_keys_and_access_tokens_never_reach_a_log_line() -> None:
    from tests.support.google_keys import pem_body, service_account_key

    key = service_account_key()
    body = pem_body(key)
    logger, stream = _logger()
    logger.info("key as JSON: %s", json.dumps(key))  # the PEM with its newlines escaped as \n
    logger.info("key as a dict: %r", key)
    logger.info("the PEM itself:\n%s", key["private_key"])
    logger.info("cut short: %s", key["private_key"][:300])
    logger.warning(
        "provider said", extra={"detail": {"private_key": key["private_key"], "token": "ya29.a0AfB_byC-secret"}}
    )
    output = stream.getvalue()
    assert body not in output
    assert "ya29.a0AfB_byC-secret" not in output
    assert key["client_email"] in output  # an address, not a credential: kept for debugging


def test_redaction_of_private_key_fields_keeps_the_rest_of_the_document_readable() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"
    text = '{"type": "service_account", "private_key": "' + pem + '", "x": 1}'
    assert redact(text) == '{"type": "service_account", "private_key": "[REDACTED]", "x": 1}'
    assert redact("'private_key': 'abc\\'def', 'y': 2") == "'private_key': \"[REDACTED]\", 'y': 2"


def test_aws_secret_keys_session_tokens_and_identity_tokens_never_reach_a_log_line() -> None:
    secret, session = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzCANARYKEY", "FwoGZXIvYXdzEsessiontoken"
    logger, stream = _logger()
    logger.info("stored: %s", json.dumps({"secret_access_key": secret, "regions": ["us-east-1"]}))
    logger.info("sts said: <SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken>", secret, session)
    logger.info("form: Action=AssumeRoleWithWebIdentity&WebIdentityToken=eyJhbGc.eyJzdWIi.sig&RoleArn=arn")
    output = stream.getvalue()
    assert secret not in output
    assert session not in output
    assert "eyJzdWIi" not in output
    assert "us-east-1" in output  # the rest stays readable
