"""Workload identity federation from the platform's Google identity to a customer's cloud (Amazon Bedrock, Azure
OpenAI): the enterprise's **external id**, the audience of every identity token the platform asks Google for on that
enterprise's behalf (ADR 0022, ADR 0023)."""

from __future__ import annotations

import hashlib


def external_id_for(project_id: str, enterprise_id: str) -> str:
    """The enterprise's external id: stable (the customer pastes it once) and different for every enterprise and
    platform deployment. Not a secret (AWS says so of external ids); what protects the customer's role or app is that
    the platform alone chooses which audience it asks Google for."""
    digest = hashlib.sha256(f"{project_id}/{enterprise_id}".encode()).hexdigest()
    return f"usage-tracking-{digest[:32]}"
