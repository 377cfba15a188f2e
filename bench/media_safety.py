"""Trust and safety per output: media moderation and C2PA signing time per image and per 4 s video,
and what they add per 1,000 jobs at list prices.

    python -m bench.media_safety [--runs 7]

Moderation is timed through the real code (frame sampling, the known-bad hash check, the JPEG sent
to Rekognition) against the local Rekognition stand-in's own logic in process: Rekognition's own
latency is not measurable here and is left out. Signing is c2pa-python with the development ES256
chain (XMP packet, manifest, read back for the asset record), as the worker does it.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "shared") not in sys.path:
    sys.path.insert(0, str(ROOT / "shared"))

from bench.figures import INFO, Figure, write  # noqa: E402

PRICES_AS_OF = "2026-12 (us-east-1 list prices, first pricing tier, no free tier; re-check before quoting)"
# DetectModerationLabels is a Rekognition Image "Group 2" API, billed per image analysed: $0.001 per
# image for the first million a month, $0.0008 for the next tier (https://aws.amazon.com/rekognition/pricing/,
# Group 2 list and worked examples, as read 2026-10-07; see docs/performance.md).
REKOGNITION_PER_IMAGE = 0.001
LAMBDA_GB_SECOND_ARM64 = 0.0000133334
WORKER_MEMORY_GB = 1.0


class InProcessRekognition:
    """boto3's detect_moderation_labels, answered by the local stand-in's logic without HTTP."""

    def __init__(self) -> None:
        from local.rekognition import RekognitionStandIn

        self.stand_in = RekognitionStandIn()
        self.calls = 0

    def detect_moderation_labels(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        body = {"Image": {"Bytes": base64.b64encode(kwargs["Image"]["Bytes"]).decode()}, "MinConfidence": 50}
        response = self.stand_in.detect_moderation_labels(body)
        answer: dict[str, Any] = json.loads(response.body)
        return answer


def _median_ms(action: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def measure(runs: int) -> dict[str, float]:
    from atelier.integrations.inference.local import ImageSpec, VideoSpec, render_image, render_video
    from atelier.integrations.media_moderation import RekognitionModeration
    from atelier.integrations.provenance import ProvenanceSigner, SigningCredentials, read_provenance
    from atelier.settings import Settings
    from local.provenance import make_dev_credentials

    settings = Settings(known_bad_image_hashes=["d1d1d1d1d1d1d1d1"])
    client = InProcessRekognition()
    moderation = RekognitionModeration(lambda: client, settings)
    credentials = make_dev_credentials()
    signer = ProvenanceSigner(
        lambda: SigningCredentials(
            private_key_pem=credentials["private_key"], certificate_chain_pem=credentials["certificate_chain"]
        )
    )
    image = render_image(ImageSpec(prompt="a lighthouse at dusk", width=1024, height=1024))
    video = render_video(VideoSpec(prompt="a lighthouse at dusk", width=512, height=512, duration_s=4.0))

    def sign(content: bytes, content_type: str) -> bytes:
        marked = signer.mark(
            content, content_type, title="bench", model="local", provider="local", created_at=datetime.now(UTC)
        )
        read_provenance(marked, content_type)
        return marked

    def mark_previews(marked: bytes, content_type: str, previews: Any) -> None:
        """Each preview gets its own manifest naming the signed original (as the worker does)."""
        from atelier.integrations.previews import PREVIEW_CONTENT_TYPE

        for preview in (previews.thumbnail, previews.poster):
            if preview is not None:
                signer.mark_preview(
                    preview,
                    PREVIEW_CONTENT_TYPE,
                    parent=marked,
                    parent_type=content_type,
                    parent_title="bench",
                    title="bench preview",
                    actions=("c2pa.resized",),
                )

    from atelier.integrations.previews import make_previews

    signed_image, signed_video = sign(image, "image/png"), sign(video, "video/mp4")
    # The previews themselves are made as before; only marking them is new work, timed here.
    image_previews, video_previews = make_previews(signed_image, "image/png"), make_previews(signed_video, "video/mp4")

    client.calls = 0
    moderation.check(video, "video/mp4")
    frames_per_video = client.calls
    return {
        "image_bytes": len(image),
        "video_bytes": len(video),
        "moderate_image_ms": _median_ms(lambda: moderation.check(image, "image/png"), runs),
        "moderate_video_ms": _median_ms(lambda: moderation.check(video, "video/mp4"), runs),
        "sign_image_ms": _median_ms(lambda: sign(image, "image/png"), runs),
        "sign_video_ms": _median_ms(lambda: sign(video, "video/mp4"), runs),
        "previews_image_ms": _median_ms(lambda: mark_previews(signed_image, "image/png", image_previews), runs),
        "previews_video_ms": _median_ms(lambda: mark_previews(signed_video, "video/mp4", video_previews), runs),
        "frames_per_video": frames_per_video,
    }


def figures(data: dict[str, float]) -> list[Figure]:
    group = "Trust and safety"
    how = "bench/media_safety.py: median of the runs, in process (Rekognition's own latency excluded)"
    rows = [
        Figure(group, "Moderation per 1024x1024 PNG (our side)", "-", f"{data['moderate_image_ms']:.0f} ms", INFO, how),
        Figure(
            group,
            "Moderation per 4 s 512x512 video (our side)",
            "-",
            f"{data['moderate_video_ms']:.0f} ms ({data['frames_per_video']:.0f} frames)",
            INFO,
            how,
        ),
        Figure(group, "C2PA + XMP signing per 1024x1024 PNG", "-", f"{data['sign_image_ms']:.0f} ms", INFO, how),
        Figure(group, "C2PA signing per 4 s video", "-", f"{data['sign_video_ms']:.0f} ms", INFO, how),
        Figure(
            group,
            "Marking the previews per PNG (thumbnail)",
            "-",
            f"{data['previews_image_ms']:.0f} ms",
            INFO,
            how,
        ),
        Figure(
            group,
            "Marking the previews per 4 s video (2)",
            "-",
            f"{data['previews_video_ms']:.0f} ms",
            INFO,
            how,
        ),
    ]
    for kind, frames, ms in (
        ("image", 1, data["moderate_image_ms"] + data["sign_image_ms"] + data["previews_image_ms"]),
        (
            "4 s video",
            data["frames_per_video"],
            data["moderate_video_ms"] + data["sign_video_ms"] + data["previews_video_ms"],
        ),
    ):
        rekognition = 1000 * frames * REKOGNITION_PER_IMAGE
        compute = 1000 * ms / 1000 * WORKER_MEMORY_GB * LAMBDA_GB_SECOND_ARM64
        rows.append(
            Figure(
                group,
                f"Added cost per 1,000 {kind} jobs",
                "-",
                f"${rekognition + compute:.2f} (Rekognition ${rekognition:.2f}, worker time ${compute:.4f})",
                INFO,
                f"{frames:.0f} DetectModerationLabels call(s) per job at ${REKOGNITION_PER_IMAGE}/image; "
                f"1 GB arm64 worker; prices as of {PRICES_AS_OF}",
                data=dict(data),
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", help="also write the figures to this file (for bench/report.py)")
    options = parser.parse_args()
    data = measure(options.runs)
    rows = figures(data)
    for row in rows:
        print(f"  {row.figure:<48} {row.result}")
    write(options.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
