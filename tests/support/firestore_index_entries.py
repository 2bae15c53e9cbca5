"""How many index entries Firestore keeps for a document, by its published rules; the emulator does not enforce the
limit, so tests count with this instead.

Limit: at most 40,000 index entries per document (https://cloud.google.com/firestore/quotas, "Maximum number of
index entries for each document"). Automatic single-field indexing
(https://cloud.google.com/firestore/docs/concepts/index-overview#automatic_indexing):

* each non-array, non-map field: one ascending and one descending entry;
* each map field: the same for each of its non-array, non-map subfields, recursively for map subfields, and one
  array-contains index for each array subfield;
* each array field: an array-contains index, one entry per distinct element;
* collection-group scope is not maintained unless declared.

A single-field override (``fieldOverrides`` of ``firestore.indexes.json``) replaces these for its field and every
subfield below it (https://cloud.google.com/firestore/docs/query-data/index-map-field): an empty ``indexes`` list
exempts them; otherwise each listed index that fits the value (``order`` for a scalar, ``arrayConfig`` for an array)
is one entry, whatever its scope. Composite indexes add one entry per document holding all their fields (this
project declares none).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

MAX_INDEX_ENTRIES = 40_000

Override = Sequence[Mapping[str, Any]]


def overrides_for(config: Mapping[str, Any], collection_group: str) -> dict[str, Override]:
    """Field path → the indexes its override keeps, for one collection group of a ``firestore.indexes.json``."""
    return {
        o["fieldPath"]: o.get("indexes", [])
        for o in config.get("fieldOverrides", [])
        if o["collectionGroup"] == collection_group and "indexes" in o
    }


def index_entries(document: Mapping[str, Any], overrides: Mapping[str, Override]) -> int:
    """Single-field index entries of ``document`` (Firestore field values as the client writes them)."""
    return sum(_field(str(name), value, None, overrides) for name, value in document.items())


def _field(path: str, value: Any, inherited: Override | None, overrides: Mapping[str, Override]) -> int:
    own = overrides.get(path, inherited)
    if isinstance(value, Mapping):
        return sum(_field(f"{path}.{k}", v, own, overrides) for k, v in value.items())
    if isinstance(value, list | tuple):
        if own is None:
            return len({json.dumps(v, sort_keys=True, default=str) for v in value})
        distinct = len({json.dumps(v, sort_keys=True, default=str) for v in value})
        return distinct * sum(1 for index in own if "arrayConfig" in index)
    if own is None:
        return 2
    return sum(1 for index in own if "order" in index)
