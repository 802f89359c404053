"""Cached reads of the named queries for pages that re-run on every widget change.

A history page re-runs its whole script when the manager touches any filter; the same query
with the same parameters is then served from Streamlit's cache instead of scanning again.
Entries live `TTL_S` seconds, so a range that includes today catches up within that time.
The store's path is part of the key: two stores in one process (tests) never share answers.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import queries
from errors import StoreError
from storage import store as _store

TTL_S = 60

# Parameters as the cache can hash them: sorted (name, value) pairs, lists made tuples.
Frozen = tuple[tuple[str, Any], ...]


def read(name: str, **params: Any) -> pd.DataFrame:
    """`queries.read(name, **params)`, cached for TTL_S seconds; QueryError/StoreError pass."""
    store = _store.current()
    if store is None:
        raise StoreError("the store is not open in this process; start Callboard with `make run`")
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    return _read(str(store.path), name, frozen)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=256)
def _read(store_key: str, name: str, frozen: Frozen) -> pd.DataFrame:
    # store_key only keys the cache (no leading underscore: Streamlit skips hashing those).
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in frozen}
    return queries.read(name, **params)
