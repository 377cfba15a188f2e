"""Whole prefixes of a bucket: listing, streaming reads, deletion in batches of 1000, and writing one
large object as a stream (a multipart upload), for exports and purges. Nothing here holds a whole
object in memory: reads come in chunks and writes leave in parts."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from atelier import errors
from atelier.integrations.storage import ObjectStore

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

MIB = 1024 * 1024
DEFAULT_PART_BYTES = 8 * MIB
READ_CHUNK_BYTES = 1 * MIB
_MAX_PARTS = 10_000
_DELETE_BATCH = 1000


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int


def _unavailable(exc: Exception) -> errors.DependencyUnavailableError:
    return errors.DependencyUnavailableError("The object store is unavailable.")


class BulkObjectStore(ObjectStore):
    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Every object under the prefix, in key order, a page (1000) at a time."""
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    yield StoredObject(key=entry["Key"], size=int(entry["Size"]))
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc

    def stream(self, key: str, chunk_bytes: int = READ_CHUNK_BYTES) -> Iterator[bytes]:
        """The object's bytes in chunks of at most `chunk_bytes`."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                yield from body.iter_chunks(chunk_bytes)
            finally:
                body.close()
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc

    def read_all(
        self, prefix: str, *, chunk_bytes: int = READ_CHUNK_BYTES, ahead_bytes: int = 8 * MIB
    ) -> Iterator[tuple[StoredObject, Iterator[bytes]]]:
        """Every object under the prefix with its bytes, read ahead on a background thread (at most
        `ahead_bytes` waiting) so that reading overlaps whatever the caller does with the bytes.
        Each object's chunks must be consumed before the next object is asked for."""
        reader = _ReadAhead(self, prefix, chunk_bytes, max(1, ahead_bytes // chunk_bytes))
        try:
            yield from reader.objects()
        finally:
            reader.stop()

    def delete_prefix(self, prefix: str) -> int:
        """Deletes every object under the prefix (DeleteObjects, 1000 per call) and abandons any
        multipart upload still open there. Answers how many objects were deleted."""
        deleted = 0
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, PaginationConfig={"PageSize": 1000}):
                batch = [{"Key": entry["Key"]} for entry in page.get("Contents", [])]
                for start in range(0, len(batch), _DELETE_BATCH):
                    chunk = batch[start : start + _DELETE_BATCH]
                    answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
                    if answer.get("Errors"):
                        raise errors.DependencyUnavailableError("Some objects could not be deleted.")
                    deleted += len(chunk)
            for upload in list(self._open_uploads(prefix)):
                if upload["Key"].startswith(prefix):
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc
        return deleted

    def _open_uploads(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every multipart upload still open under the prefix: S3 answers at most 1000 a call, and
        the next page starts after the (key, upload id) markers of the last."""
        request: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            page = self.client.list_multipart_uploads(**request)
            yield from page.get("Uploads", [])
            if not page.get("IsTruncated"):
                return
            request["KeyMarker"] = page["NextKeyMarker"]
            request["UploadIdMarker"] = page["NextUploadIdMarker"]

    def writer(
        self,
        key: str,
        content_type: str,
        *,
        part_bytes: int = DEFAULT_PART_BYTES,
        metadata: dict[str, str] | None = None,
    ) -> MultipartWriter:
        return MultipartWriter(self.client, self.bucket, key, content_type, part_bytes=part_bytes, metadata=metadata)


class _ReadAhead:
    """The producer side of `BulkObjectStore.read_all`: a thread listing and reading objects into a
    bounded queue; the consumer takes ("object", StoredObject), then ("chunk", bytes)..., ("end",)."""

    def __init__(self, store: BulkObjectStore, prefix: str, chunk_bytes: int, depth: int):
        self._store = store
        self._prefix = prefix
        self._chunk_bytes = chunk_bytes
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="read-ahead", daemon=True)
        self._thread.start()

    def _put(self, kind: str, value: Any = None) -> bool:
        while not self._stopping.is_set():
            try:
                self._queue.put((kind, value), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for stored in self._store.list(self._prefix):
                if not self._put("object", stored):
                    return
                for chunk in self._store.stream(stored.key, self._chunk_bytes):
                    if not self._put("chunk", chunk):
                        return
                if not self._put("end"):
                    return
            self._put("done")
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put("error", exc)

    def _take(self) -> tuple[str, Any]:
        kind, value = self._queue.get()
        if kind == "error":
            raise value
        return kind, value

    def objects(self) -> Iterator[tuple[StoredObject, Iterator[bytes]]]:
        while True:
            kind, value = self._take()
            if kind == "done":
                return
            if kind == "object":
                chunks = self._chunks()
                yield value, chunks
                for _ in chunks:  # whatever the caller left unread
                    pass

    def _chunks(self) -> Iterator[bytes]:
        while True:
            kind, value = self._take()
            if kind == "end":
                return
            yield value

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)


class MultipartWriter:
    """A write-only, unseekable file whose bytes become one S3 object.

    Bytes are buffered into parts of `part_bytes` (8 MiB by default, doubled every 2000 parts so the
    10,000-part limit is never reached) and each full part is uploaded while the next one fills, on
    one background thread: at most two parts are in memory. An object smaller than one part is
    written with a single PutObject. `close()` completes it; `abort()` abandons it (the bucket's
    lifecycle rule also clears abandoned uploads after a day).
    """

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        content_type: str,
        *,
        part_bytes: int = DEFAULT_PART_BYTES,
        metadata: dict[str, str] | None = None,
    ):
        if part_bytes < 5 * MIB:
            raise ValueError("S3 parts are at least 5 MiB")
        self._client = client
        self._bucket = bucket
        self.key = key
        self._content_type = content_type
        self._metadata = metadata or {}
        self._part_bytes = part_bytes
        self._buffer = bytearray()
        self._written = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._in_flight: Future[dict[str, Any]] | None = None
        self._uploader: ThreadPoolExecutor | None = None
        self.closed = False

    # -- the file interface zipfile needs -----------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self.closed:
            raise ValueError("write to a closed upload")
        self._buffer += data
        self._written += len(data)
        while len(self._buffer) >= self._current_part_bytes():
            size = self._current_part_bytes()
            with memoryview(self._buffer) as view:
                part = bytes(view[:size])
            del self._buffer[:size]
            self._send(part)
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        return None

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    # -- finishing --------------------------------------------------------------------------------
    def close(self) -> int:
        """Completes the object; answers its size in bytes."""
        if self.closed:
            return self._written
        try:
            if self._upload_id is None:
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=self.key,
                    Body=bytes(self._buffer),
                    ContentType=self._content_type,
                    Metadata=self._metadata,
                )
            else:
                if self._buffer:
                    self._send(bytes(self._buffer))
                self._wait()
                self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=self.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                )
        except (BotoCoreError, ClientError) as exc:
            self.abort()
            raise _unavailable(exc) from exc
        finally:
            self._buffer = bytearray()
            self._shutdown()
        self.closed = True
        return self._written

    def abort(self) -> None:
        self.closed = True
        self._buffer = bytearray()
        try:
            if self._in_flight is not None:
                self._in_flight.exception()
            if self._upload_id is not None:
                self._client.abort_multipart_upload(Bucket=self._bucket, Key=self.key, UploadId=self._upload_id)
        except (BotoCoreError, ClientError):
            pass  # the bucket's lifecycle rule aborts it after a day
        finally:
            self._upload_id = None
            self._shutdown()

    # -- parts ------------------------------------------------------------------------------------
    def _current_part_bytes(self) -> int:
        return self._part_bytes * 2 ** (len(self._parts) // 2000)

    def _send(self, part: bytes) -> None:
        try:
            if self._upload_id is None:
                answer = self._client.create_multipart_upload(
                    Bucket=self._bucket, Key=self.key, ContentType=self._content_type, Metadata=self._metadata
                )
                self._upload_id = answer["UploadId"]
                from concurrent.futures import ThreadPoolExecutor  # only archives larger than a part need it

                self._uploader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="part-upload")
            self._wait()
            number = len(self._parts) + 1
            if number > _MAX_PARTS:
                raise errors.PayloadTooLargeError("The object is larger than a multipart upload can hold.")
            assert self._uploader is not None
            self._in_flight = self._uploader.submit(self._upload_part, number, part)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc

    def _upload_part(self, number: int, part: bytes) -> dict[str, Any]:
        answer = self._client.upload_part(
            Bucket=self._bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=part
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _wait(self) -> None:
        if self._in_flight is not None:
            done = self._in_flight.result()
            self._in_flight = None
            self._parts.append(done)

    def _shutdown(self) -> None:
        if self._uploader is not None:
            self._uploader.shutdown(wait=True)
            self._uploader = None
