"""Public copies of published media, served from cacheable URLs.

A published asset's file, thumbnail and poster are copied into the public-media bucket under
`media/<asset id>/<publication nonce>/` (the distribution serves that bucket at `/media/`; the local
runtime serves it itself). A gallery page then names plain URLs instead of minting a presigned URL
per item, and CDN and browser caches may keep them for `cache_seconds`. The nonce is new at every
publication, so a URL from an earlier publication never serves again after a re-publication.
Withdrawing deletes every copy of the asset at once; caches may keep one for at most `cache_seconds`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from atelier.integrations.storage import ObjectStore

PREFIX = "media/"
FILE = "file"
THUMBNAIL = "thumb.webp"
POSTER = "poster.webp"


def asset_prefix(asset_id: str) -> str:
    return f"{PREFIX}{asset_id}/"


def file_name(object_key: str) -> str:
    """`file.<extension of the stored object>`, so the URL says what it is."""
    tail = object_key.rsplit("/", 1)[-1]
    extension = tail.rsplit(".", 1)[-1] if "." in tail else ""
    return f"{FILE}.{extension}" if extension.isalnum() and len(extension) <= 5 else FILE


def public_url(base_url: str, prefix: str, name: str) -> str:
    return f"{base_url.rstrip('/')}/{prefix}{name}"


class PublicMedia:
    def __init__(self, public: ObjectStore, source: ObjectStore, *, cache_seconds: int) -> None:
        self._public = public
        self._source = source
        self._cache_control = f"public, max-age={cache_seconds}"

    def publish(self, asset_id: str, files: Mapping[str, str], *, prefix: str | None = None) -> str:
        """Copies each source object (name -> key in the assets bucket) under a new publication
        prefix (or the one given: the same publication put back), and answers the prefix. A copy
        that fails removes what was copied."""
        prefix = prefix or f"{asset_prefix(asset_id)}{secrets.token_urlsafe(12)}/"
        try:
            for name, source_key in files.items():
                self._public.copy_from(
                    self._source.bucket, source_key, f"{prefix}{name}", cache_control=self._cache_control
                )
        except Exception:
            self._public.delete_under(prefix)
            raise
        return prefix

    def withdraw(self, asset_id: str) -> None:
        """Deletes every public copy of the asset, of every publication."""
        self._public.delete_under(asset_prefix(asset_id))
