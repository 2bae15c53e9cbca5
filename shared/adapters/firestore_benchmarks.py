"""The peer benchmark's Firestore side: the ``BenchmarkStore`` port.

* Participants: one streamed query (``firestore_direct_reads``) over ``enterprises`` (``status == "active"`` and
  ``settings.share_anonymous_benchmarks == true``) ordered by document id and handed over in pages, reading only
  ``industry``, ``members`` (verified admin domains) and each provider's ``org_keys`` (``select``). Of a member only
  its role, address and whether the address was verified are decoded and checked: an enterprise is left out (and
  logged) when those cannot be read, not for a field of its members the benchmark does not use. An enterprise that
  opts out is simply not found by the next aggregation.
* Rollups: ``enterprises/{id}/usage_months/{YYYY-MM}`` read in batches (``firestore_direct_reads``) with a field mask
  naming only each provider's ``comparison`` and ``rate_basis`` (the figures of M1 and M2), never the breakdowns by
  model or project, so 10,000 enterprises cost a few dozen small round trips; the documents are named by path
  (``read_paths``), without three client objects built for each.
* ``benchmarks/{YYYY-MM}``: the published document, written whole with ``set``; ``written_at`` is kept beside it,
  out of the compared content.
* ``benchmark_runs/{YYYY-MM}`` (server-only, no client rule allows it): the frozen record (version, inputs hash,
  revisions, and the contributors' ids compressed into one bytes field), and ``benchmark_runs/{YYYY-MM}/versions/{n}``
  with version n's membership tokens, each population one bytes field of concatenated 6-byte tokens (10,000 units
  in every bucket of both metrics stay far below the 1 MiB document limit), read and written packed as they are
  (``peers.release.pack_tokens``). A version document is *created*, in the same batch as the other two writes, so
  two concurrent runs cannot both publish version n: the second batch fails whole and nothing of it is written.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.adapters.firestore_direct_reads import decode_value, read_paths, stream_fields
from shared.adapters.firestore_enterprises import ENTERPRISES
from shared.adapters.firestore_errors import translated
from shared.adapters.firestore_snapshots import MONTHS
from shared.domain.enterprise.model import Industry, ProviderName, Role
from shared.domain.peers.models import BenchmarkDocument
from shared.domain.peers.release import PackedPopulations, PublishedRun
from shared.domain.peers.units import identity_of
from shared.domain.usage.records import Provider
from shared.domain.usage.snapshot_parts import ProviderPart
from shared.errors import Conflict
from shared.ports import BenchmarkParticipant, Clock

log = logging.getLogger(__name__)

BENCHMARKS = "benchmarks"
RUNS = "benchmark_runs"
VERSIONS = "versions"
WRITTEN_AT = "written_at"
GET_ALL_BATCH = 300
"""Documents per ``get_all`` call: large enough to amortise round trips, small enough for one response."""
PART_FIELDS = ("comparison", "rate_basis")
"""The parts of a provider's monthly figures a benchmark uses."""

_FIELD_MASK = [f"by_provider.{p.value}.{name}" for p in Provider for name in PART_FIELDS]


_IDENTITY_FIELDS = ["industry", "members", *(f"providers.{p.value}.org_keys" for p in ProviderName)]
"""What places an enterprise in a bucket and identifies it: industry, admins (domains), organisations' keys."""


class _ProviderKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    org_keys: list[str] | None = None


class _MemberIdentity(BaseModel):
    """Of a member, what makes a verified admin domain (``peers.units.verified_admin_domains``); typed as in
    ``Member``, whose other fields (when the member joined) the benchmark has no use for."""

    model_config = ConfigDict(extra="ignore")

    email: str | None
    role: Role
    email_verified: bool = False


_MEMBER_FIELDS = tuple(_MemberIdentity.model_fields)


class _IdentityFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    industry: Industry = Industry.OTHER
    members: dict[str, _MemberIdentity] = Field(default_factory=dict)
    providers: dict[ProviderName, _ProviderKeys] = Field(default_factory=dict)


def _identity_data(fields: Mapping[str, Any], client: Any) -> dict[str, Any]:
    """A participant's identity fields (protobuf) as plain values, each member's as far as ``_MemberIdentity`` reads
    them: its other fields are not decoded (a timestamp was a third of the participants' decoding)."""
    data = {}
    for name in fields:
        value = fields[name]
        if name == "members" and value.WhichOneof("value_type") == "map_value":
            members = value.map_value.fields
            data[name] = {uid: _member_data(members[uid], client) for uid in members}
        else:
            data[name] = decode_value(value, client)
    return data


def _member_data(value: Any, client: Any) -> Any:
    if value.WhichOneof("value_type") != "map_value":
        return decode_value(value, client)  # not a member's map: the validation refuses it
    fields = value.map_value.fields
    return {name: decode_value(fields[name], client) for name in _MEMBER_FIELDS if name in fields}


def _participant(enterprise_id: str, data: dict[str, Any]) -> BenchmarkParticipant | None:
    data["industry"] = _industry(data.get("industry"))
    try:
        fields = _IdentityFields.model_validate(data)
    except ValidationError:
        # One unreadable enterprise must not stop the month's benchmark; it is left out, and said so.
        log.exception("benchmark participant unreadable", extra={"enterprise_id": enterprise_id})
        return None
    keys = {name: state.org_keys for name, state in fields.providers.items()}
    return identity_of(enterprise_id, fields.industry, fields.members.values(), keys)


def _industry(value: Any) -> Industry:
    try:
        return Industry(value)
    except ValueError:
        return Industry.OTHER


def _parts(enterprise_id: str, data: dict[str, Any]) -> dict[str, ProviderPart]:
    parts: dict[str, ProviderPart] = {}
    for provider, raw in (data.get("by_provider") or {}).items():
        try:
            parts[provider] = ProviderPart.model_validate(raw or {})
        except ValidationError:
            # One unreadable part must not stop the month's benchmark; the enterprise is then counted without it.
            log.exception("rollup part unreadable", extra={"enterprise_id": enterprise_id, "provider": provider})
    return parts


class FirestoreBenchmarks:
    """Implements ``shared.ports.BenchmarkStore``."""

    def __init__(self, client: Any, clock: Clock) -> None:
        self._db = client
        self._clock = clock

    def participants(self, *, page_size: int) -> Iterator[list[BenchmarkParticipant]]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = (
            self._db.collection(ENTERPRISES)
            .where(filter=FieldFilter("status", "==", "active"))
            .where(filter=FieldFilter("settings.share_anonymous_benchmarks", "==", True))
            .select(_IDENTITY_FIELDS)
        )
        # One streamed query, not one per page (each a query the database starts afresh), decoded without the
        # client's deep copy and only as far as the identity needs: about 0.85 s for 10,000 participants, against
        # 1.0-1.5 s with every member's every field decoded and 3.4 s through the client's own stream
        # (``devstack/bench_benchmarks.py``). It is read as the pages are consumed, so memory holds a page, not the
        # result.
        stream = ((eid, _identity_data(fields, self._db)) for eid, fields in stream_fields(query.order_by("__name__")))
        while page := list(islice(stream, page_size)):
            yield [p for p in (_participant(eid, data) for eid, data in page) if p is not None]

    def month_parts(self, enterprise_ids: Sequence[str], month: str) -> dict[str, dict[str, ProviderPart]]:
        found: dict[str, dict[str, ProviderPart]] = {}
        for start in range(0, len(enterprise_ids), GET_ALL_BATCH):
            paths = [f"{ENTERPRISES}/{eid}/{MONTHS}/{month}" for eid in enterprise_ids[start : start + GET_ALL_BATCH]]
            for path, data in read_paths(self._db, paths, field_paths=_FIELD_MASK):
                enterprise_id = path.split("/", 2)[1]
                found[enterprise_id] = _parts(enterprise_id, data)
        return found

    def run(self, month: str) -> PublishedRun | None:
        ref = self._db.collection(RUNS).document(month)
        with translated():
            snap = ref.get()
            if not snap.exists:
                return None
            versions = sorted(ref.collection(VERSIONS).stream(), key=lambda v: int(v.id))
        data = dict(snap.to_dict() or {})
        contributors = zlib.decompress(data.pop("contributors")).decode()
        populations = tuple(dict((v.to_dict() or {}).get("populations", {})) for v in versions)
        return PublishedRun.model_validate(
            {**data, "contributors": contributors.split("\n") if contributors else [], "populations": populations}
        )

    def publish(self, document: BenchmarkDocument, run: PublishedRun) -> None:
        from google.api_core import exceptions as gexc

        record: dict[str, Any] = run.model_dump(mode="json", exclude={"populations", "contributors"})
        record["contributors"] = zlib.compress("\n".join(run.contributors).encode())
        newest: PackedPopulations = run.populations[-1] if run.populations else {}
        run_ref = self._db.collection(RUNS).document(run.month)
        published: dict[str, Any] = document.model_dump(mode="json")
        published[WRITTEN_AT] = self._clock.now()
        batch = self._db.batch()
        batch.create(
            run_ref.collection(VERSIONS).document(str(run.version)),
            {"populations": dict(newest)},
        )
        batch.set(run_ref, record)
        batch.set(self._db.collection(BENCHMARKS).document(document.month), published)
        try:
            with translated():
                batch.commit()
        except gexc.AlreadyExists as e:
            raise Conflict(
                f"version {run.version} of the {run.month} benchmark was published meanwhile",
                code="benchmark_version_taken",
            ) from e

    def get(self, month: str) -> BenchmarkDocument | None:
        with translated():
            snap = self._db.collection(BENCHMARKS).document(month).get()
        return _document(snap) if snap.exists else None

    def latest(self) -> BenchmarkDocument | None:
        # By the ``month`` field (same order as the ids): Firestore cannot scan document ids in descending order.
        query = self._db.collection(BENCHMARKS).order_by("month", direction="DESCENDING").limit(1)
        with translated():
            snaps = list(query.stream())
        return _document(snaps[0]) if snaps else None


def _document(snap: Any) -> BenchmarkDocument | None:
    data = dict(snap.to_dict() or {})
    data.pop(WRITTEN_AT, None)
    try:
        return BenchmarkDocument.model_validate(data)
    except ValidationError:
        log.exception("stored benchmark is unreadable", extra={"document": snap.reference.path})
        return None
