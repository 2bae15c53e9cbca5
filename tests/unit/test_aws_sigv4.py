"""SigV4 against the AWS documentation's own signed examples (docs.aws.amazon.com/IAM/latest/UserGuide/
reference_sigv-create-signed-request.html and the SigV4 test suite's ``get-vanilla`` case): same inputs, same
signature, so the simulator's check (which uses this signer) is not circular."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from pydantic import SecretStr

from shared.adapters.aws_sigv4 import AwsCredentials, canonical_query, signature_headers

EXAMPLE = AwsCredentials("AKIDEXAMPLE", SecretStr("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
AT = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)


def test_get_vanilla_matches_the_test_suite_signature() -> None:
    headers = signature_headers(
        "GET",
        httpx.URL("https://example.amazonaws.com/"),
        {"host": "example.amazonaws.com"},
        b"",
        EXAMPLE,
        region="us-east-1",
        service="service",
        now=AT,
    )
    assert headers["X-Amz-Date"] == "20150830T123600Z"
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_iam_list_users_example_matches_the_documented_signature() -> None:
    headers = signature_headers(
        "GET",
        httpx.URL("https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"),
        {"host": "iam.amazonaws.com", "content-type": "application/x-www-form-urlencoded; charset=utf-8"},
        b"",
        EXAMPLE,
        region="us-east-1",
        service="iam",
        now=AT,
    )
    assert headers["Authorization"].endswith(
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )


def test_temporary_credentials_sign_their_session_token() -> None:
    temporary = AwsCredentials("ASIAEXAMPLE", SecretStr("secret"), SecretStr("session-token"))
    headers = signature_headers(
        "POST",
        httpx.URL("https://ce.us-east-1.amazonaws.com/"),
        {"host": "ce.us-east-1.amazonaws.com"},
        b"{}",
        temporary,
        region="us-east-1",
        service="ce",
        now=AT,
    )
    assert headers["X-Amz-Security-Token"] == "session-token"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token," in headers["Authorization"]


def test_query_parameters_are_sorted_and_encoded_once() -> None:
    assert canonical_query("b=2&a=x%20y&a=1") == "a=1&a=x%20y&b=2"
    assert "secret" not in repr(EXAMPLE)
    assert "wJal" not in repr(EXAMPLE)
