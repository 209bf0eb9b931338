"""``nasforge storage upgrade``: look after a store."""

from __future__ import annotations

from nasforge.cli._common import StorageOpt
from nasforge.storage import DEFAULT_STORAGE


def upgrade(storage: StorageOpt = DEFAULT_STORAGE) -> None:
    """Upgrade a store written by an older nasforge to this version's schema (back it up first)."""
    from nasforge.storage import SCHEMA_VERSION, Storage

    store = Storage(storage, create=False, upgrade=True)
    if store.upgraded_from is None:
        print(f"{store.url}: already at schema version {SCHEMA_VERSION}")
    else:
        print(
            f"{store.url}: upgraded from schema version {store.upgraded_from} to {SCHEMA_VERSION}"
        )
