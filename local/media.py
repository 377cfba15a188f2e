"""Public media at `/media/...`, as the CloudFront distribution serves it in production: straight
from the public-media bucket (the emulator's), with the cache lifetime stored on each object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from local.emulator import emulator_client
from local.gateway import IncomingRequest
from local.standins import LocalResponse

MEDIA_PREFIX = "/media/"

MediaHandler = Callable[[IncomingRequest], LocalResponse]


def media_handler(endpoint_url: str, bucket: str) -> MediaHandler:
    s3: Any = emulator_client("s3", endpoint_url)

    def serve(request: IncomingRequest) -> LocalResponse:
        if request.method not in ("GET", "HEAD"):
            return LocalResponse.error(405, "method_not_allowed", "Public media is read-only.")
        key = request.path.lstrip("/")
        if ".." in key.split("/"):
            return LocalResponse.error(404, "not_found", "No such media.")
        try:
            answer = s3.get_object(Bucket=bucket, Key=key)
        except ClientError:
            # S3 behind origin access control answers a missing key 403; CloudFront passes it on.
            return LocalResponse.error(403, "forbidden", "No such media.")
        body = answer["Body"].read()
        headers = [
            ("Content-Type", answer.get("ContentType") or "application/octet-stream"),
            ("Cache-Control", answer.get("CacheControl") or "no-cache"),
            ("ETag", answer.get("ETag", "")),
            ("X-Content-Type-Options", "nosniff"),
        ]
        return LocalResponse(200, b"" if request.method == "HEAD" else body, headers)

    return serve
