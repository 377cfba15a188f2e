"""Objects in S3: the assets bucket (uploads, outputs, quarantine kept apart under each account's
prefix) and the exports bucket. Clients only ever get short-lived presigned URLs."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from botocore.exceptions import BotoCoreError, ClientError

from atelier import errors


def upload_key(account_id: str, upload_id: str) -> str:
    return f"accounts/{account_id}/uploads/{upload_id}"


def output_prefix(account_id: str, job_id: str) -> str:
    return f"accounts/{account_id}/outputs/{job_id}/"


def output_key(account_id: str, job_id: str, index: int, extension: str) -> str:
    return f"{output_prefix(account_id, job_id)}{index}.{extension}"


def account_prefix(account_id: str) -> str:
    return f"accounts/{account_id}/"


def _tagging_xml(tags: dict[str, str]) -> str:
    """Object tags as the `tagging` field of a POST form takes them."""
    tag_set = "".join(
        f"<Tag><Key>{escape(name)}</Key><Value>{escape(value)}</Value></Tag>" for name, value in sorted(tags.items())
    )
    return f"<Tagging><TagSet>{tag_set}</TagSet></Tagging>"


class ObjectStore:
    def __init__(self, bucket: str, client: Any = None):
        self.bucket = bucket
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Path-style URLs work against the emulator as well as S3; SigV4 for presigned POSTs.
            self._client = boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        return self._client

    def presigned_post(
        self, key: str, content_type: str, max_bytes: int, expires_in: int, *, tags: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """A POST form S3 itself holds to this key, exact content type, at most max_bytes and, when
        given, exactly these object tags (S3 applies them to the object the form creates)."""
        fields: dict[str, Any] = {"Content-Type": content_type}
        conditions: list[Any] = [
            {"bucket": self.bucket},
            ["eq", "$key", key],
            ["eq", "$Content-Type", content_type],
            ["content-length-range", 1, max_bytes],
        ]
        if tags:
            fields["tagging"] = _tagging_xml(tags)
            conditions.append(["eq", "$tagging", fields["tagging"]])
        try:
            answer: dict[str, Any] = self.client.generate_presigned_post(
                Bucket=self.bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
            )
        except (BotoCoreError, ClientError) as exc:
            raise errors.DependencyUnavailableError() from exc
        return answer

    def presigned_get(self, key: str, expires_in: int, *, filename: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        url: str = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
        return url

    def put(self, key: str, body: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata or {}
            )
        except (BotoCoreError, ClientError) as exc:
            raise errors.DependencyUnavailableError() from exc

    def untag(self, key: str) -> None:
        """Removes every tag from an object (one missing is left alone)."""
        try:
            self.client.delete_object_tagging(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return
            raise errors.DependencyUnavailableError() from exc
        except BotoCoreError as exc:
            raise errors.DependencyUnavailableError() from exc

    def copy_from(self, source_bucket: str, source_key: str, key: str, *, cache_control: str) -> bool:
        """A server-side copy of another bucket's object to `key` here (its type kept, its cache
        lifetime set). False when the source does not exist."""
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": source_bucket, "Key": source_key},
                MetadataDirective="REPLACE",
                CacheControl=cache_control,
                ContentType=self._content_type(source_bucket, source_key),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return False
            raise errors.DependencyUnavailableError() from exc
        except BotoCoreError as exc:
            raise errors.DependencyUnavailableError() from exc
        return True

    def _content_type(self, bucket: str, key: str) -> str:
        answer = self.client.head_object(Bucket=bucket, Key=key)
        return str(answer.get("ContentType") or "application/octet-stream")

    def get(self, key: str, max_bytes: int) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise errors.DependencyUnavailableError() from exc
        except BotoCoreError as exc:
            raise errors.DependencyUnavailableError() from exc
        if int(answer.get("ContentLength", 0)) > max_bytes:
            raise errors.PayloadTooLargeError()
        body: bytes = answer["Body"].read(max_bytes + 1)
        if len(body) > max_bytes:
            raise errors.PayloadTooLargeError()
        return body

    def delete_under(self, prefix: str) -> None:
        """Deletes every object whose key starts with `prefix` (the outputs of one job, say)."""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            keys = [entry["Key"] for page in pages for entry in page.get("Contents", [])]
        except (BotoCoreError, ClientError) as exc:
            raise errors.DependencyUnavailableError() from exc
        self.delete(keys)

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except (BotoCoreError, ClientError) as exc:
                raise errors.DependencyUnavailableError() from exc
