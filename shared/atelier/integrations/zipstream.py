"""A zip archive written as a stream, into any write-only file that can tell its position (a
multipart upload, say), with constant memory whatever the archive's size.

`zipfile` does the format: given an unseekable file it writes each entry's sizes and CRC in a data
descriptor after its data (general purpose flag bit 3) instead of seeking back, and ZIP64 records
wherever an entry or the archive passes 4 GiB. This module adds what an export needs on top: entries
fed from chunk iterators, and the size and SHA-256 of each entry as written, for the manifest.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Protocol

_ZIP64_LIMIT = (1 << 31) - 1  # zipfile's own threshold, with its 5% margin taken into account
_FILE_MODE = 0o644 << 16


class WritableStream(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def tell(self) -> int: ...

    def flush(self) -> None: ...


@dataclass(frozen=True)
class ArchivedFile:
    path: str
    size: int
    sha256: str


class ZipStream:
    """Entries are written one after another; each is complete before the next starts."""

    def __init__(self, sink: WritableStream, *, modified_at: datetime):
        # zipfile probes seek() to decide; the sink has none, so it streams with data descriptors.
        self._zip = zipfile.ZipFile(_Unseekable(sink), mode="w", allowZip64=True)  # type: ignore[call-overload]
        self._date_time = modified_at.timetuple()[:6]
        self.files: list[ArchivedFile] = []

    def add(
        self, path: str, chunks: Iterable[bytes], *, size: int | None = None, compress: bool = True
    ) -> ArchivedFile:
        """Writes one entry from its chunks; `size`, when known, lets small entries skip ZIP64 records.
        Already-compressed media are better stored (`compress=False`): deflating them costs time
        and saves nothing."""
        info = zipfile.ZipInfo(path, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = _FILE_MODE
        if size is not None:
            info.file_size = size
        digest = hashlib.sha256()
        written = 0
        with self._zip.open(info, mode="w", force_zip64=size is None or size > _ZIP64_LIMIT) as entry:
            for chunk in chunks:
                digest.update(chunk)
                entry.write(chunk)
                written += len(chunk)
        archived = ArchivedFile(path=path, size=written, sha256=digest.hexdigest())
        self.files.append(archived)
        return archived

    def add_bytes(self, path: str, data: bytes, *, compress: bool = True) -> ArchivedFile:
        return self.add(path, [data], size=len(data), compress=compress)

    def close(self) -> None:
        """Writes the central directory (and the ZIP64 end records when needed)."""
        self._zip.close()

    def abandon(self) -> None:
        """Forgets an archive whose upload was aborted, so nothing more is written to the sink.

        Left alone, zipfile would try to write the central directory when it is garbage-collected.
        """
        self._zip.fp = None


class _Unseekable:
    """Hides any seek() the sink may have, and gives zipfile the little it calls."""

    def __init__(self, sink: WritableStream):
        self._sink = sink

    def write(self, data: Any) -> int:
        return self._sink.write(data)

    def tell(self) -> int:
        return self._sink.tell()

    def flush(self) -> None:
        self._sink.flush()


def open_spool(max_memory_bytes: int = 1024 * 1024) -> IO[bytes]:
    """A temporary file that stays in memory until it passes `max_memory_bytes`, then moves to disk."""
    import tempfile

    return tempfile.SpooledTemporaryFile(max_size=max_memory_bytes, mode="w+b")
