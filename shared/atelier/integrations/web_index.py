"""The built studio's `index.html`, which the share page answers with its link-preview tags added.

Production reads it from the web bucket (`make deploy-web` uploads it there); the local runtime
points WEB_INDEX_PATH at web/dist/index.html in the working tree. Either is kept in memory for
`ttl_seconds`, so a share page costs no read of the bucket; a deploy shows within that time (the
hashed assets an older index names stay in the bucket, so a stale copy still works).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from atelier import errors
from atelier.integrations.storage import ObjectStore
from atelier.observability import logger

INDEX_KEY = "index.html"
_MAX_BYTES = 1_000_000


class WebIndex:
    def __init__(self, *, path: str = "", store: ObjectStore | None = None, ttl_seconds: float = 300.0) -> None:
        self._path = Path(path) if path else None
        self._store = store
        self._ttl = ttl_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, str | None] | None = None

    def html(self) -> str | None:
        """The app's index.html, or None where no built app exists (the page is then made alone)."""
        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now - self._cached[0] < self._ttl:
                return self._cached[1]
            found = self._read()
            self._cached = (now, found)
            return found

    def _read(self) -> str | None:
        if self._path is not None:
            try:
                return self._path.read_text(encoding="utf-8")
            except OSError:
                return None
        if self._store is None or not self._store.bucket:
            return None
        try:
            body = self._store.get(INDEX_KEY, _MAX_BYTES)
        except errors.AtelierError:
            logger.warning("the studio's index.html could not be read")
            return None
        return None if body is None else body.decode("utf-8", errors="replace")
