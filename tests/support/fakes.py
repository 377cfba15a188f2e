"""In-memory fakes of the ports the use cases take, for the domain tests (tests/domain): no
emulator, no network, no files beyond a spool. Each keeps what it was given so a test can look."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from atelier.data import item_types
from atelier.data.privacy import Key, StoredRow


@dataclass
class FixedClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass
class FakePrivacy:
    """The reads PrivacyRepository gives the export and the purge, over rows held in memory: an
    account's partition, its ledger partition, and rows elsewhere (pointers) by key."""

    partition: list[StoredRow] = field(default_factory=list)
    ledger: list[StoredRow] = field(default_factory=list)
    elsewhere: dict[Key, StoredRow] = field(default_factory=dict)
    deleted: list[Key] = field(default_factory=list)

    def partition_rows(self, account_id: str) -> Iterator[StoredRow]:
        yield from (row for row in self.partition if row.pk == f"ACCOUNT#{account_id}")

    def ledger_rows(self, ledger_id: str) -> Iterator[StoredRow]:
        yield from (row for row in self.ledger if row.pk == ledger_id)

    def rows_at(self, item_keys: Sequence[Key]) -> list[StoredRow]:
        return [self.elsewhere[key] for key in item_keys if key in self.elsewhere]

    def pointers_listed_by(self, row: StoredRow) -> list[Key]:
        return item_types.pointers_listed_by(row.entity, row.attributes)

    def delete_keys(self, item_keys: Iterable[Key]) -> None:
        for key in item_keys:
            self.deleted.append(key)
            self.elsewhere.pop(key, None)
            self.partition = [row for row in self.partition if (row.pk, row.sk) != key]


class _MemoryWriter(io.BytesIO):
    def __init__(self, store: FakeObjectStore, key: str) -> None:
        super().__init__()
        self._store = store
        self._key = key

    def close(self) -> int:  # type: ignore[override]
        size = len(self.getvalue())
        self._store.objects[self._key] = self.getvalue()
        super().close()
        return size

    def abort(self) -> None:
        super().close()


@dataclass
class _Stored:
    key: str
    size: int


@dataclass
class FakeObjectStore:
    """The bulk object store: keys to bytes."""

    objects: dict[str, bytes] = field(default_factory=dict)

    def writer(self, key: str, content_type: str, *, part_bytes: int = 0) -> _MemoryWriter:
        return _MemoryWriter(self, key)

    def read_all(self, prefix: str, **_: Any) -> Iterator[tuple[_Stored, Iterator[bytes]]]:
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield _Stored(key, len(self.objects[key])), iter([self.objects[key]])

    def list(self, prefix: str) -> Iterator[_Stored]:
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield _Stored(key, len(self.objects[key]))

    def delete_prefix(self, prefix: str) -> int:
        doomed = [key for key in self.objects if key.startswith(prefix)]
        for key in doomed:
            del self.objects[key]
        return len(doomed)
