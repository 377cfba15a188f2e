"""Deleting a prefix abandons every multipart upload still open under it, however many pages S3
lists them in (at most 1000 a call, continued from the last key and upload id)."""

from __future__ import annotations

from typing import Any

from atelier.integrations.bulk_storage import BulkObjectStore


class PagingS3:
    """An S3 client holding open multipart uploads and no objects, listing them as S3 does: in
    (key, upload id) order, `page_size` at a time, continuing after KeyMarker / UploadIdMarker."""

    def __init__(self, uploads: list[tuple[str, str]], page_size: int) -> None:
        self.uploads = sorted(uploads)
        self.page_size = page_size
        self.listings = 0

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_objects_v2"
        return self

    def paginate(self, **_request: Any) -> list[dict[str, Any]]:
        return [{"Contents": []}]

    def list_multipart_uploads(
        self, *, Bucket: str, Prefix: str, KeyMarker: str = "", UploadIdMarker: str = ""
    ) -> dict[str, Any]:
        self.listings += 1
        after = [
            (key, upload_id)
            for key, upload_id in self.uploads
            if key.startswith(Prefix) and (key, upload_id) > (KeyMarker, UploadIdMarker)
        ]
        page = after[: self.page_size]
        answer: dict[str, Any] = {
            "Uploads": [{"Key": key, "UploadId": upload_id} for key, upload_id in page],
            "IsTruncated": len(after) > self.page_size,
        }
        if answer["IsTruncated"]:
            answer["NextKeyMarker"], answer["NextUploadIdMarker"] = page[-1]
        return answer

    def abort_multipart_upload(self, *, Bucket: str, Key: str, UploadId: str) -> None:
        self.uploads.remove((Key, UploadId))


def test_every_open_upload_under_the_prefix_is_abandoned_across_pages():
    # Given 25 open uploads under an account's prefix (two on one key), listed 10 a page, and one elsewhere
    mine = [(f"accounts/acc_1/exports/{n:02d}.zip", f"upload-{n}") for n in range(24)]
    mine.append(("accounts/acc_1/exports/00.zip", "upload-again"))
    elsewhere = ("accounts/acc_2/exports/00.zip", "upload-other")
    client = PagingS3([*mine, elsewhere], page_size=10)
    store = BulkObjectStore("exports", client=client)
    # When the prefix is deleted
    store.delete_prefix("accounts/acc_1/")
    # Then every one of its uploads was abandoned, over several listings, and the other account's kept
    assert client.uploads == [elsewhere]
    assert client.listings == 3
