"""A Google connection is checked before anything leaves the platform: each kind of wrong paste has its own code,
no message ever quotes the key, and what is stored is a canonical form without the key's ``token_uri``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr

from shared.domain.connections.provider_keys import check_key_shape
from shared.domain.enterprise.model import ProviderName
from shared.domain.providers.google.connection import bundle, parse_connection
from shared.errors import InvalidInput
from tests.support.google_keys import pem_body, service_account_key

PROJECTS = ["acme-prod-ai", "acme-studio"]
TABLE = "acme-finops.billing.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"


def _pem(key: Any) -> str:
    return str(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    )


def test_a_key_object_or_its_json_text_gives_the_same_canonical_secret_without_token_uri() -> None:
    key = service_account_key()
    from_object = parse_connection(bundle(key, PROJECTS, TABLE)).to_secret()
    reordered = json.dumps(dict(reversed(list(key.items()))), indent=2)
    from_text = parse_connection(bundle(reordered, [f" {p} " for p in PROJECTS], f" {TABLE} ")).to_secret()

    assert from_object.get_secret_value() == from_text.get_secret_value()
    stored = json.loads(from_object.get_secret_value())
    assert set(stored["service_account_key"]) == {"type", "client_email", "private_key", "private_key_id", "project_id"}
    assert "token_uri" not in from_object.get_secret_value()
    assert (stored["project_ids"], stored["billing_export_table"]) == (PROJECTS, TABLE)
    assert parse_connection(from_object).to_secret() == from_object  # stored form parses to itself


def test_the_billing_table_is_an_identifier_quoted_for_sql_and_optional() -> None:
    connection = parse_connection(bundle(service_account_key(), PROJECTS, TABLE))
    assert connection.billing_export_table is not None
    assert connection.billing_export_table.sql == f"`{TABLE}`"
    assert connection.billing_export_table.project == "acme-finops"
    assert parse_connection(bundle(service_account_key(), PROJECTS, None)).billing_export_table is None


def test_repr_shows_the_account_never_the_private_key() -> None:
    key = service_account_key()
    connection = parse_connection(bundle(key, PROJECTS, TABLE))
    assert pem_body(key) not in repr(connection)
    assert key["client_email"] in repr(connection)


def _with(**changes: Any) -> dict[str, Any]:
    key = service_account_key()
    for name, value in changes.items():
        if value is None:
            key.pop(name)
        else:
            key[name] = value
    return key


def _ec_pem() -> str:
    return _pem(ec.generate_private_key(ec.SECP256R1()))


def _short_rsa_pem() -> str:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505 - the key refused


@pytest.mark.parametrize(
    ("key", "projects", "table", "code"),
    [
        ("{not json", PROJECTS, None, "malformed_key"),
        ("[1, 2]", PROJECTS, None, "malformed_key"),
        ("AIzaSyD-" + "x" * 31, PROJECTS, None, "not_a_service_account_key"),
        (_with(type="authorized_user"), PROJECTS, None, "not_a_service_account_key"),
        (_with(type="external_account"), PROJECTS, None, "not_a_service_account_key"),
        (_with(type=None), PROJECTS, None, "not_a_service_account_key"),
        (_with(private_key=None), PROJECTS, None, "malformed_key"),
        (_with(client_email="someone@example.com"), PROJECTS, None, "malformed_key"),
        (_with(private_key_id="not hex!"), PROJECTS, None, "malformed_key"),
        (_with(project_id="Not_A_Project"), PROJECTS, None, "malformed_key"),
        (
            _with(private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            PROJECTS,
            None,
            "malformed_key",
        ),
        (_with(private_key="MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), PROJECTS, None, "malformed_key"),
        (_with(private_key=_ec_pem()), PROJECTS, None, "malformed_key"),
        (_with(private_key=_short_rsa_pem()), PROJECTS, None, "malformed_key"),
        ("x" * 20_000, PROJECTS, None, "malformed_key"),
        (service_account_key(), [], None, "invalid_project_ids"),
        (service_account_key(), ["Acme_Prod"], None, "invalid_project_ids"),
        (service_account_key(), ["acme-prod-ai", "acme-prod-ai"], None, "invalid_project_ids"),
        (service_account_key(), [f"project-{i:03d}" for i in range(51)], None, "invalid_project_ids"),
        (service_account_key(), PROJECTS, "billing.gcp_billing_export_v1", "invalid_billing_export_table"),
        (service_account_key(), PROJECTS, "acme-finops.billing.t` WHERE 1=1 --", "invalid_billing_export_table"),
        (service_account_key(), PROJECTS, "acme-finops.bill ing.table", "invalid_billing_export_table"),
        (service_account_key(), PROJECTS, "acme-finops.billing.table;DROP", "invalid_billing_export_table"),
    ],
    ids=[
        "not-json",
        "json-array",
        "gemini-api-key",
        "user-credentials",
        "workload-identity-config",
        "no-type",
        "no-private-key",
        "not-a-service-account-email",
        "bad-key-id",
        "bad-project-id",
        "pem-garbage",
        "pem-without-markers",
        "ec-key",
        "rsa-1024",
        "huge",
        "no-projects",
        "bad-project",
        "duplicate-projects",
        "too-many-projects",
        "table-without-project",
        "table-sql-injection",
        "table-with-space",
        "table-with-semicolon",
    ],
)
def test_each_wrong_paste_has_its_own_code_and_no_message_quotes_the_key(
    key: Any, projects: list[str], table: str | None, code: str
) -> None:
    secret = bundle(key, projects, table)

    with pytest.raises(InvalidInput) as raised:
        check_key_shape(ProviderName.GOOGLE, secret)

    assert raised.value.code == code
    body = pem_body(service_account_key())
    assert body not in raised.value.message
    assert raised.value.__cause__ is None or "PRIVATE KEY" not in str(raised.value.__cause__)
    if isinstance(key, str) and len(key) < 100:
        assert key not in raised.value.message


def test_check_key_shape_normalises_google_like_it_strips_admin_keys() -> None:
    secret = bundle(json.dumps(service_account_key()), PROJECTS, TABLE)
    normalised = check_key_shape(ProviderName.GOOGLE, secret)
    assert normalised == parse_connection(secret).to_secret()
    assert check_key_shape(ProviderName.OPENAI, SecretStr(" sk-admin-abcdefgh12345678 ")).get_secret_value() == (
        "sk-admin-abcdefgh12345678"
    )
