"""The Swagger UI page at /v1/docs, served from the assets Powertools ships (no CDN needed).

The page loads the document from `openapi.json` beside it. Its content-security policy allows
exactly the two inline scripts it carries, by hash, and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

import aws_lambda_powertools

# Read from the package's files, not imported: its Python module pulls in OAuth2 models that cost
# a quarter of a second of cold start on every route of the function.
_SWAGGER_ASSETS = Path(aws_lambda_powertools.__file__ or "").parent / "event_handler" / "openapi" / "swagger_ui"

_BOOTSTRAP = """
window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", window.location.href).toString(),
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
"""


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


@lru_cache(maxsize=1)
def render_docs_page() -> tuple[str, str]:
    """The page and its content-security policy."""
    bundle = (_SWAGGER_ASSETS / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
    styles = (_SWAGGER_ASSETS / "swagger-ui.min.css").read_text(encoding="utf-8")
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Atelier API</title>'
        f'<style>{styles}</style></head><body><div id="swagger-ui"></div>'
        f"<script>{bundle}</script><script>{_BOOTSTRAP}</script></body></html>"
    )
    policy = (
        "default-src 'none'; "
        f"script-src {_hash(bundle)} {_hash(_BOOTSTRAP)}; "
        # Swagger UI sets style attributes from script; styles cannot run code.
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return page, policy
