"""Names and labels of the Secret Manager secrets that hold enterprises' provider admin keys.

One secret per (enterprise, provider); each key the enterprise connects becomes a new version of it. The secret id
is derived from that domain key alone, so a retried connect finds the same secret:

* ``provider-key-{provider}_{enterprise_id}`` when the enterprise id is made of letters, digits, ``-`` and ``_`` and
  the result fits Secret Manager's 255-character limit (the usual case: ids look like ``ent_3f2a...``);
* ``provider-key-sha256-{provider}_{sha256(enterprise_id)}`` otherwise.

Every id starts with ``provider-key-``: the IAM conditions in ``infra/terraform`` grant the connect and sync
identities access to secrets with that prefix only (``Settings.provider_secret_prefix``).

Providers may not contain ``_``, so the first ``_`` after the prefix ends the provider and the mapping is one to
one; the two prefixes differ, so a hashed id never equals a readable one.

Labels (``app``, ``enterprise``, ``provider``) let an operator find and audit the secrets in the console. They are
informational only: Secret Manager restricts label values to 63 lowercase characters, so the enterprise label is
the id lowercased, with other characters replaced by ``-``, cut to 63 characters. Code never looks secrets up by
label.
"""

from __future__ import annotations

import hashlib
import re

SECRET_ID_PREFIX = "provider-key"  # noqa: S105 - a name prefix, not a secret
HASHED_SECRET_ID_PREFIX = "provider-key-sha256"  # noqa: S105 - a name prefix, not a secret
APP_LABEL = "enterprise-usage-tracking"
"""Value of the ``app`` label on every secret the platform creates."""

MAX_SECRET_ID_LENGTH = 255
_PROVIDER = re.compile(r"[a-z][a-z0-9-]{0,62}")
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
_LABEL_UNSAFE = re.compile(r"[^a-z0-9_-]")


def secret_id_for(enterprise_id: str, provider: str) -> str:
    """The Secret Manager secret id holding ``enterprise_id``'s admin key for ``provider``.

    Args:
        enterprise_id: The enterprise's id (any non-empty string).
        provider: A provider name such as ``openai`` or ``anthropic``: lowercase letters, digits and ``-``.

    Returns:
        A valid secret id (``[A-Za-z0-9_-]{1,255}``), the same for the same arguments.

    Raises:
        ValueError: If ``enterprise_id`` is empty or ``provider`` is not a valid provider name.
    """
    if not enterprise_id:
        raise ValueError("enterprise_id must not be empty")
    if not _PROVIDER.fullmatch(provider):
        raise ValueError(f"invalid provider name: {provider!r}")
    readable = f"{SECRET_ID_PREFIX}-{provider}_{enterprise_id}"
    if _SAFE_ID.fullmatch(enterprise_id) and len(readable) <= MAX_SECRET_ID_LENGTH:
        return readable
    digest = hashlib.sha256(enterprise_id.encode("utf-8")).hexdigest()
    return f"{HASHED_SECRET_ID_PREFIX}-{provider}_{digest}"


def secret_labels(enterprise_id: str, provider: str) -> dict[str, str]:
    """The standard labels of the secret for (``enterprise_id``, ``provider``): ``app``, ``enterprise``, ``provider``.

    Raises:
        ValueError: If ``provider`` is not a valid provider name.
    """
    if not _PROVIDER.fullmatch(provider):
        raise ValueError(f"invalid provider name: {provider!r}")
    return {
        "app": APP_LABEL,
        "enterprise": _LABEL_UNSAFE.sub("-", enterprise_id.lower())[:63],
        "provider": provider,
    }


def is_version_of(version_name: str, enterprise_id: str, provider: str) -> bool:
    """Whether ``version_name`` (``projects/P/secrets/S/versions/N``) is a version of ``secret_id_for(enterprise_id,
    provider)``.

    A key record in Firestore says only *which version* to read; the secret is named by the enterprise id, so a
    record naming another enterprise's secret (tampered, or written by a bug) never makes a sync read that key.
    """
    parts = version_name.split("/")
    return (
        len(parts) == 6
        and parts[0] == "projects"
        and parts[2] == "secrets"
        and parts[3] == secret_id_for(enterprise_id, provider)
        and parts[4] == "versions"
        and parts[5].isdigit()
    )
