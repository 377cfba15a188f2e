"""The web studio's built files (``web/dist``), served as CloudFront serves them in production.

Paths that are files are served with long cache lifetimes for Vite's content-hashed ``/assets/*``
and none for ``index.html``; any other path that is not an API route falls back to ``index.html``
so the single-page app's router answers it (``/studio``, ``/s/<token>``). Every answer carries the
security headers of the deployed distribution's response headers policy: a CSP without inline
script, HSTS, frame denial, nosniff and a referrer policy.
"""

from __future__ import annotations

import gzip
import mimetypes
import threading
from collections.abc import Iterable
from pathlib import Path

from local.standins import LocalResponse

ASSETS_PREFIX = "/assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
OTHER_FILES = "public, max-age=3600"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
}
_COMPRESSED_SUFFIXES = {".js", ".css", ".html", ".svg", ".json", ".webmanifest", ".txt"}
_MIN_COMPRESSED_BYTES = 1024  # CloudFront compresses files from 1,000 bytes


def content_security_policy(media_origins: Iterable[str] = ()) -> str:
    """The studio's CSP: scripts and styles from this origin only; media also from the storage origins
    (presigned links); uploads go to the storage origins too (the presigned POST)."""
    media = " ".join(sorted(set(media_origins)))
    extra = f" {media}" if media else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data:{extra}",
            f"media-src 'self'{extra}",
            f"connect-src 'self'{extra}",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(media_origins: Iterable[str] = ()) -> list[tuple[str, str]]:
    return [
        ("Content-Security-Policy", content_security_policy(media_origins)),
        ("Strict-Transport-Security", "max-age=63072000; includeSubDomains"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ]


def _cache_control(path: str, file: Path) -> str:
    if path.startswith(ASSETS_PREFIX):
        return IMMUTABLE  # content-hashed names: a new build makes new names
    return NO_CACHE if file.name == "index.html" else OTHER_FILES


class WebSite:
    """The built app under ``root``; ``media_origins`` are where presigned media links point."""

    def __init__(self, root: Path, media_origins: Iterable[str] = ()) -> None:
        self.root = root.resolve()
        self.media_origins = tuple(media_origins)
        self._compressed: dict[tuple[Path, int], bytes] = {}
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return (self.root / "index.html").is_file()

    def serve(self, path: str, accept_encoding: str = "") -> LocalResponse:
        """The file at ``path``, else ``index.html`` (a missing hashed asset stays a 404); text
        gzip-compressed when the browser accepts it, as CloudFront's compression does."""
        gzip_ok = "gzip" in accept_encoding.lower()
        found = self._file(path)
        if found is not None:
            return self._answer(found, _cache_control(path, found), gzip_ok)
        if path.startswith(ASSETS_PREFIX) or not self.built:
            response = LocalResponse.text("Not found.", status=404)
            response.headers.extend(security_headers(self.media_origins))
            return response
        return self._answer(self.root / "index.html", NO_CACHE, gzip_ok)

    def _file(self, path: str) -> Path | None:
        relative = path.lstrip("/") or "index.html"
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate

    def _answer(self, file: Path, cache: str, gzip_ok: bool) -> LocalResponse:
        content_type = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        body = file.read_bytes()
        headers = [("Content-Type", content_type), ("Cache-Control", cache), *security_headers(self.media_origins)]
        if file.suffix in _COMPRESSED_SUFFIXES and len(body) >= _MIN_COMPRESSED_BYTES:
            headers.append(("Vary", "Accept-Encoding"))
            if gzip_ok:
                body = self._gzip(file, body)
                headers.append(("Content-Encoding", "gzip"))
        return LocalResponse(200, body, headers)  # the server sends no body for HEAD

    def _gzip(self, file: Path, body: bytes) -> bytes:
        key = (file, file.stat().st_mtime_ns)
        with self._lock:
            if key not in self._compressed:
                self._compressed[key] = gzip.compress(body, compresslevel=6, mtime=0)
            return self._compressed[key]
