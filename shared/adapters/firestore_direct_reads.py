"""Document reads decoded straight from the response, for the read paths that are measured: the rollups of
``GET /enterprise/usage``; the benchmark's 10,000 participants and their rollups; the sync's months, read ahead and
in their transactions.

``Client.get_all`` (and a query's ``stream``) decodes each document with a generic decoder (which also looks for
vector and BSON markers in every map) and then deep-copies it into its ``DocumentSnapshot``: on a year of rollups
that was 40 of the 50 ms the read took, against 11 ms of round trip (``devstack/bench_usage_api.py``). Here the same
request (built by the client's own ``_prep_get_all`` and ``_prep_stream``, so masks and retries are the client's) is
sent and each document's fields are decoded once, by one small decoder, into plain values: the types this project
stores are decoded here, any other (a timestamp, a reference, a geo point, a vector) by the client's own decoder, so
nothing is decoded differently from ``get_all`` and ``stream`` (``tests/integration/test_firestore_direct_reads.py``
compares them). A caller that needs only some of a document's values takes the fields undecoded
(``stream_fields``) and decodes what it uses (``decode_value``); ``read_paths`` reads by document path, without a
reference object per document. Relies on the client's ``_prep_get_all``, ``_prep_stream``, ``_firestore_api`` and
``_rpc_metadata``, stable in the pinned client version (``uv.lock``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.adapters.firestore_errors import translated


def read_documents(
    client: Any, refs: Sequence[Any], *, field_paths: Sequence[str] | None = None
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """``(reference, fields)`` of each document of ``refs`` that exists, in the server's order, in one round trip.

    ``field_paths`` is a field mask (only those fields cross the wire). The fields are the caller's own (a fresh
    dict per document). Raises ``DependencyUnavailable`` when the database is unavailable.
    """
    with translated():
        read = _batch_get(client, refs, field_paths, None)
    for reference, found, _ in _found(read):
        yield reference, decode_fields(found.fields, client)


@dataclass(frozen=True)
class Found:
    """A document read: its reference, its fields (the caller's own) and its version (``update_time``, the same value
    ``DocumentSnapshot.update_time`` gives)."""

    reference: Any
    fields: dict[str, Any]
    update_time: Any


def read_versions(
    client: Any, refs: Sequence[Any], *, field_paths: Sequence[str] | None = None, transaction: Any = None
) -> Iterator[Found]:
    """Each document of ``refs`` that exists, with its version, in the server's order, in one round trip; inside
    ``transaction`` when one is given (its reads then lock the documents, as ``Transaction.get`` does).
    Raises ``DependencyUnavailable`` when the database is unavailable."""
    with translated():
        read = _batch_get(client, refs, field_paths, transaction)
    yield from _versions(read, client)


def begin_with_read(
    client: Any, refs: Sequence[Any], options: Any, *, field_paths: Sequence[str] | None = None
) -> tuple[bytes, list[Found]]:
    """Begin a transaction (``options``: its ``TransactionOptions``) with the read of ``refs`` (``field_paths``: a
    field mask), in one round trip: its id and the documents of ``refs`` that exist, with their versions. Raises the
    client's errors as they are (``Aborted`` included: the caller retries)."""
    read = _batch_get(client, refs, field_paths, None, new_transaction=options)
    began = next((type(r).pb(r).transaction for r in read[1] if type(r).pb(r).transaction), b"")
    return began, list(_versions(read, client))


def _versions(read: tuple[dict[str, Any], list[Any]], client: Any) -> Iterator[Found]:
    for reference, found, response in _found(read):
        # The version is converted only here: ``read_documents`` (10,000 rollups a benchmark run) has no use for it.
        yield Found(reference, decode_fields(found.fields, client), response.found.update_time)


def _batch_get(
    client: Any, refs: Sequence[Any], field_paths: Sequence[str] | None, transaction: Any, new_transaction: Any = None
) -> tuple[dict[str, Any], list[Any]]:
    """The references by document name, and every response of one batched read (none when ``refs`` is empty)."""
    if not refs:
        return {}, []
    request, references, kwargs = client._prep_get_all(list(refs), field_paths, transaction)
    if new_transaction is not None:
        del request["transaction"]
        request["new_transaction"] = new_transaction
    return references, _send(client, request, kwargs)


def _send(client: Any, request: dict[str, Any], kwargs: dict[str, Any]) -> list[Any]:
    """Every response of one ``BatchGetDocuments`` call."""
    return list(client._firestore_api.batch_get_documents(request=request, metadata=client._rpc_metadata, **kwargs))


def _found(read: tuple[dict[str, Any], list[Any]]) -> Iterator[tuple[Any, Any, Any]]:
    """``(reference, found document as protobuf, response)`` of each document read that exists."""
    references, responses = read
    for found, response in _existing(responses):
        yield references[found.name], found, response


def _existing(responses: list[Any]) -> Iterator[tuple[Any, Any]]:
    """``(found document as protobuf, response)`` of each response naming a document that exists."""
    for response in responses:
        found = type(response).pb(response).found
        if found.name:
            yield found, response


def stream_documents(query: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(document id, fields)`` of each document ``query`` returns, in its order, read as the caller consumes them.

    Unlike ``Query.stream`` this does not resume an interrupted stream: the error (``DependencyUnavailable`` when the
    database is unavailable) reaches the caller, whose whole run is retried (the benchmark aggregation is).
    """
    client = query._client
    for document_id, fields in stream_fields(query):
        yield document_id, decode_fields(fields, client)


def stream_fields(query: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``stream_documents`` with each document's fields as the protobuf map of ``Value``s it arrived as, for a
    caller that decodes only what it uses (``decode_value``). The map is valid while the caller holds it."""
    client = query._client
    request, _, kwargs = query._prep_stream()
    with translated():
        responses = client._firestore_api.run_query(request=request, metadata=client._rpc_metadata, **kwargs)
        for response in responses:
            document = type(response).pb(response).document
            if document.name:  # a response may only report progress
                yield document.name.rpartition("/")[2], document.fields


def read_paths(
    client: Any, paths: Sequence[str], *, field_paths: Sequence[str] | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``read_documents`` by path (``enterprises/e1/usage_months/2026-10``): ``(path, fields)`` of each document of
    ``paths`` that exists, in one round trip, without a ``DocumentReference`` built for each (a benchmark run reads
    10,000 rollups; three client objects a document took a tenth of the reading's time)."""
    if not paths:
        return
    request, _, kwargs = client._prep_get_all([], field_paths, None)  # the client's mask and retry settings
    prefix = f"{client._database_string}/documents/"
    request["documents"] = [prefix + path for path in paths]
    with translated():
        responses = _send(client, request, kwargs)
    for found, _ in _existing(responses):
        yield found.name.removeprefix(prefix), decode_fields(found.fields, client)


def decode_fields(fields: Mapping[str, Any], client: Any) -> dict[str, Any]:
    """A protobuf map of Firestore ``Value``s as plain Python values (what ``DocumentSnapshot.to_dict`` gives)."""
    # Keys then lookups: a protobuf map's ``items()`` is the generic ``Mapping`` one, nearly twice as slow.
    return {key: decode_value(fields[key], client) for key in fields}


def decode_value(value: Any, client: Any) -> Any:
    """One Firestore ``Value`` (protobuf) as a plain Python value, as ``DocumentSnapshot.to_dict`` gives it."""
    kind = value.WhichOneof("value_type")
    # The most frequent types first; anything rarer is the client's to decode.
    if kind == "string_value":
        return value.string_value
    if kind == "integer_value":
        return value.integer_value
    if kind == "map_value":
        return _map(value.map_value.fields, client)
    if kind == "array_value":
        return [decode_value(item, client) for item in value.array_value.values]
    if kind == "null_value":
        return None
    if kind == "boolean_value":
        return value.boolean_value
    if kind == "bytes_value":
        return value.bytes_value
    if kind == "double_value":
        return value.double_value
    return _helpers().decode_value(value, client)


def _map(fields: Mapping[str, Any], client: Any) -> Any:
    if "__type__" in fields or (len(fields) == 1 and next(iter(fields)).startswith("__")):
        # A vector or BSON value is a map with a type marker (``__type__``, or one ``__oid__``-like key); the client
        # knows how to decode those.
        return _helpers().decode_dict(fields, client)
    return {key: decode_value(fields[key], client) for key in fields}


def _helpers() -> Any:
    from google.cloud.firestore_v1 import _helpers

    return _helpers
