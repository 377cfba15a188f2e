"""A stand-in for Amazon Rekognition's ``DetectModerationLabels``, mounted at ``/_local/rekognition``.

It speaks the service's JSON protocol (``POST /`` with ``X-Amz-Target:
RekognitionService.DetectModerationLabels``, the image as base64 in ``Image.Bytes``) and answers in
its shape: ``{"ModerationLabels": [{"Confidence", "Name", "ParentName", "TaxonomyLevel"}],
"ModerationModelVersion"}``. It is deterministic: the labels depend only on the pattern the local
provider draws for ``flag:explicit`` and ``flag:suggestive`` prompts (safety_markers.py); anything
else has no labels.

``POST /_local/rekognition/outage`` with ``{"down": true}`` makes every call fail with a 503
(``ServiceUnavailableException``) until ``{"down": false}``, to exercise the fail-closed path.

Its environment points the functions at it, and lists the ``flag:minor`` pattern's perceptual hash
as known-bad (with the distance its compressed video frames still match at).
"""

from __future__ import annotations

import base64
import binascii
import io
import threading
from collections.abc import Mapping
from typing import Any

from local.standins import LocalRequest, LocalResponse, LocalRoutes, StandIn

PREFIX = "/_local/rekognition"
TARGET = "RekognitionService.DetectModerationLabels"
MODEL_VERSION = "7.0"
LOCAL_HASH_DISTANCE = 12

_LABELS: dict[str, list[dict[str, Any]]] = {
    "flag:explicit": [
        {"Confidence": 98.7, "Name": "Explicit", "ParentName": "", "TaxonomyLevel": 1},
        {"Confidence": 98.7, "Name": "Explicit Nudity", "ParentName": "Explicit", "TaxonomyLevel": 2},
    ],
    "flag:suggestive": [
        {
            "Confidence": 91.2,
            "Name": "Non-Explicit Nudity of Intimate parts and Kissing",
            "ParentName": "",
            "TaxonomyLevel": 1,
        },
    ],
}


def _error(status: int, kind: str, message: str) -> LocalResponse:
    return LocalResponse.json({"__type": kind, "Message": message}, status, headers=[("x-amzn-ErrorType", f"{kind}:")])


class RekognitionStandIn:
    def __init__(self) -> None:
        self._down = False
        self._lock = threading.Lock()
        self.calls = 0

    @property
    def down(self) -> bool:
        with self._lock:
            return self._down

    def set_down(self, down: bool) -> None:
        with self._lock:
            self._down = down

    def labels_for(self, image_bytes: bytes) -> list[dict[str, Any]]:
        from PIL import Image

        from atelier.integrations.inference.safety_markers import detect_marker

        with Image.open(io.BytesIO(image_bytes)) as image:
            marker = detect_marker(image)
        return [dict(label) for label in _LABELS.get(marker or "", [])]

    def detect_moderation_labels(self, body: Mapping[str, Any]) -> LocalResponse:
        from PIL import UnidentifiedImageError

        with self._lock:
            self.calls += 1
        if self.down:
            return _error(503, "ServiceUnavailableException", "The local Rekognition stand-in is down.")
        image = body.get("Image") if isinstance(body, Mapping) else None
        encoded = image.get("Bytes") if isinstance(image, Mapping) else None
        if not isinstance(encoded, str):
            return _error(400, "InvalidParameterException", "Image.Bytes is required (S3 objects are not supported).")
        try:
            content = base64.b64decode(encoded, validate=True)
            labels = self.labels_for(content)
        except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
            return _error(400, "InvalidImageFormatException", "Request has unsupported image format.")
        floor = float(body.get("MinConfidence", 50))
        labels = [label for label in labels if label["Confidence"] >= floor]
        return LocalResponse.json(
            {"ModerationLabels": labels, "ModerationModelVersion": MODEL_VERSION},
            headers=[("Content-Type", "application/x-amz-json-1.1")],
        )

    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()

        @routes.post("/")
        def call(request: LocalRequest) -> LocalResponse:
            if request.header("x-amz-target") != TARGET:
                return _error(400, "UnknownOperationException", "Only DetectModerationLabels is stood in for.")
            try:
                body = request.json()
            except ValueError:
                return _error(400, "SerializationException", "The body is not JSON.")
            return self.detect_moderation_labels(body or {})

        @routes.post("/outage")
        def outage(request: LocalRequest) -> LocalResponse:
            body = request.json() or {}
            self.set_down(bool(body.get("down")))
            return LocalResponse.json({"down": self.down})

        @routes.get("/outage")
        def outage_state(request: LocalRequest) -> LocalResponse:
            return LocalResponse.json({"down": self.down, "calls": self.calls})

        return routes

    def stand_in(self) -> StandIn:
        return StandIn(
            PREFIX,
            self.routes(),
            "Rekognition DetectModerationLabels; POST /outage {down} to fail every call",
            environment=_environment,
        )


def _environment(base_url: str) -> dict[str, str]:
    from atelier.integrations.inference.safety_markers import minor_pattern_hash

    return {
        "REKOGNITION_ENDPOINT_URL": f"{base_url}{PREFIX}",
        "KNOWN_BAD_IMAGE_HASHES": minor_pattern_hash(),
        "KNOWN_BAD_HASH_DISTANCE": str(LOCAL_HASH_DISTANCE),
    }


def rekognition_stand_in() -> StandIn:
    return RekognitionStandIn().stand_in()
