"""What the inference stand-ins share: mount points, documented local-only keys, timeouts and
fault kinds, webhook delivery, and the settings that point the adapters here."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Mapping

logger = logging.getLogger("local.inference")


PREFIX = "/_local/providers"
OPENAI_PREFIX = f"{PREFIX}/openai"
MODELARK_PREFIX = f"{PREFIX}/modelark"
RUNPOD_PREFIX = f"{PREFIX}/runpod"
REPLICATE_PREFIX = f"{PREFIX}/replicate"

# Documented local-only secrets: these providers exist only inside the local runtime.
OPENAI_API_KEY = "sk-atelier-local"
MODELARK_API_KEY = "ark-atelier-local"
RUNPOD_API_KEY = "rpa_ATELIER_LOCAL"
REPLICATE_API_TOKEN = "r8_atelier_local"  # noqa: S105
REPLICATE_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"atelier-local-replicate-webhooks").decode()

# The adapters' timeouts in the local runtime (the environment hooks set them), and how long a
# "timeout" fault sleeps: past both.
LOCAL_HTTP_TIMEOUT_SECONDS = 10
LOCAL_SYNC_TIMEOUT_SECONDS = 20
TIMEOUT_SLEEP_SECONDS = 21.0

FAULT_KINDS = ("429", "500", "timeout", "malformed", "400")
FAIL_MARKER = "[fail]"
BLOCKED_MARKER = "[blocked]"
# The stand-ins draw at most this many pixels a side, so a 2048x2048 request stays fast.
MAX_DRAWN_SIDE = 1024
MAX_FILES = 256
# Replicate's API does not say what a model makes; the stand-in takes these names for video models.
VIDEO_MODEL_WORDS = ("video", "seedance", "kling", "veo", "hailuo", "wan-", "ltx")

# url, headers, body -> the receiver's HTTP status (0 when it could not be reached).
Deliverer = Callable[[str, Mapping[str, str], bytes], int]


class SimulatedTimeout(Exception):
    """Raised instead of sleeping when the stand-in sits behind an in-memory transport."""


def http_deliverer(url: str, headers: Mapping[str, str], body: bytes) -> int:
    import httpx

    try:
        return httpx.post(url, content=body, headers=dict(headers), timeout=30.0).status_code
    except httpx.HTTPError as exc:
        logger.warning("webhook delivery failed: %s", type(exc).__name__)
        return 0


def local_inference_environment(base_url: str) -> dict[str, str]:
    """The settings that point Atelier's inference adapters at these stand-ins."""
    return {
        "OPENAI_API_BASE": f"{base_url}{OPENAI_PREFIX}/v1",
        "OPENAI_API_KEY": OPENAI_API_KEY,
        "MODELARK_API_BASE": f"{base_url}{MODELARK_PREFIX}/api/v3",
        "MODELARK_API_KEY": MODELARK_API_KEY,
        "RUNPOD_API_BASE": f"{base_url}{RUNPOD_PREFIX}/v2",
        "RUNPOD_API_KEY": RUNPOD_API_KEY,
        "REPLICATE_API_BASE": f"{base_url}{REPLICATE_PREFIX}/v1",
        "REPLICATE_API_TOKEN": REPLICATE_API_TOKEN,
        "REPLICATE_WEBHOOK_SECRET": REPLICATE_WEBHOOK_SECRET,
        "INFERENCE_HTTP_TIMEOUT_SECONDS": str(LOCAL_HTTP_TIMEOUT_SECONDS),
        "INFERENCE_SYNC_TIMEOUT_SECONDS": str(LOCAL_SYNC_TIMEOUT_SECONDS),
    }
