"""The Firestore client's channels read server streams on the calling thread (``adapters.firestore_client``)."""

from __future__ import annotations

from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials

from shared.adapters.firestore_client import _client_class


def _streams_on_caller(client: Any) -> bool:
    # The flag gRPC's channel sets from the ``SingleThreadedUnaryStream`` option (grpc/_channel.py).
    return bool(client._firestore_api._transport.grpc_channel._single_threaded_unary_stream)


def test_the_emulator_channel_reads_streams_on_the_calling_thread_and_reads_as_before(firestore_db: Any) -> None:
    collection = firestore_db.collection("client_streams")
    for i in range(5):
        collection.document(f"d{i}").set({"i": i})

    assert _streams_on_caller(firestore_db)
    assert [snap.get("i") for snap in collection.order_by("i").stream()] == [0, 1, 2, 3, 4]
    refs = [collection.document(f"d{i}") for i in (4, 0, 9)]
    assert sorted(snap.id for snap in firestore_db.get_all(refs) if snap.exists) == ["d0", "d4"]


def test_the_production_channel_is_given_the_option_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    client = _client_class()(project="streams-check", credentials=AnonymousCredentials())

    assert client._emulator_host is None  # the channel built is the production endpoint's (nothing is sent)
    assert _streams_on_caller(client)
