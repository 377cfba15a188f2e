"""Media moderation's rules and provenance marks, without the emulator (P17, P18)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import pytest
from botocore.exceptions import ClientError

from atelier import errors
from atelier.integrations.media_moderation import (
    MediaModerationUnavailableError,
    ModerationLabel,
    RekognitionModeration,
    Verdict,
    decide,
)
from atelier.integrations.provenance import (
    DIGITAL_SOURCE_TYPE,
    ProvenanceSigner,
    SigningCredentials,
    read_provenance,
    with_digital_source_type,
    xmp_digital_source_type,
)
from atelier.settings import MediaModerationRule, Settings


def label(name: str, confidence: float, parent: str = "") -> ModerationLabel:
    return ModerationLabel.model_validate({"Name": name, "Confidence": confidence, "ParentName": parent})


RULES = {
    "Explicit": MediaModerationRule(verdict="blocked", min_confidence=80),
    "Suggestive": MediaModerationRule(verdict="restricted", min_confidence=70),
}


def test_the_strictest_rule_a_label_or_its_parent_meets_decides():
    # Given a restricted label and a blocked one found through its parent category
    labels = [label("Suggestive", 90), label("Explicit Nudity", 85, parent="Explicit")]
    # Then the verdict is the stricter, naming the category that decided
    assert decide(labels, RULES) == (Verdict.BLOCKED, "Explicit")


def test_a_label_below_its_rules_confidence_is_allowed():
    assert decide([label("Explicit", 79.9), label("Suggestive", 69)], RULES) == (Verdict.ALLOWED, None)


def png(width: int = 64, height: int = 48, mode: str = "RGB") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, (width, height), (10, 120, 200, 255)[: len(mode)]).save(buffer, format="PNG")
    return buffer.getvalue()


def encoded(fmt: str, mode: str = "RGB", **options: Any) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, (64, 48), (10, 120, 200, 128)[: len(mode)]).save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("image/png", png()),
        ("image/jpeg", encoded("JPEG")),
        ("image/webp", encoded("WEBP")),
        ("image/webp", encoded("WEBP", lossless=True)),
        ("image/webp", encoded("WEBP", mode="RGBA")),
    ],
)
def test_the_xmp_digital_source_type_is_added_without_touching_the_pixels(content_type, content):
    from PIL import Image

    # When the XMP packet is added
    marked = with_digital_source_type(content, content_type)
    # Then it reads back, and the picture decodes to the same pixels
    assert xmp_digital_source_type(content) is None
    assert xmp_digital_source_type(marked) == DIGITAL_SOURCE_TYPE
    with Image.open(io.BytesIO(content)) as before, Image.open(io.BytesIO(marked)) as after:
        assert after.getxmp()  # Pillow finds the packet where readers look for it
        assert before.tobytes() == after.tobytes()


@lru_cache(maxsize=1)
def signer() -> ProvenanceSigner:
    from local.provenance import make_dev_credentials

    made = make_dev_credentials()
    credentials = SigningCredentials(
        private_key_pem=made["private_key"], certificate_chain_pem=made["certificate_chain"]
    )
    return ProvenanceSigner(lambda: credentials)


def test_a_signed_file_reads_as_valid_a_tampered_one_as_invalid_and_an_unsigned_one_as_absent():
    # Given a signed PNG
    signed = signer().mark(
        png(), "image/png", title="ast_1", model="local-image", provider="local", created_at=datetime.now(UTC)
    )
    # When one byte of its picture data is changed
    at = signed.index(b"IDAT") + 8
    tampered = signed[:at] + bytes([signed[at] ^ 0xFF]) + signed[at + 1 :]
    # Then each reads as what it is
    assert read_provenance(signed, "image/png").c2pa == "valid"
    assert read_provenance(tampered, "image/png").c2pa == "invalid"
    assert read_provenance(png(), "image/png").c2pa == "absent"


def test_signing_without_credentials_is_a_retryable_failure():
    from atelier.integrations.provenance import ProvenanceError, credentials_from_settings

    with pytest.raises(ProvenanceError) as raised:
        credentials_from_settings(Settings())
    assert isinstance(raised.value, errors.DependencyUnavailableError)


class FailingRekognition:
    def __init__(self, code: str) -> None:
        self.code = code

    def detect_moderation_labels(self, **kwargs: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "DetectModerationLabels")


def test_a_throttled_or_failing_service_is_retryable_and_a_refused_image_is_not():
    settings = Settings()
    # When the service is throttled, or down
    for code in ("ThrottlingException", "InternalServerError", "ServiceUnavailableException"):
        with pytest.raises(MediaModerationUnavailableError):
            RekognitionModeration(lambda code=code: FailingRekognition(code), settings).check(png(), "image/png")
    # And when it refuses the image itself
    with pytest.raises(errors.InvalidFieldError):
        RekognitionModeration(lambda: FailingRekognition("InvalidImageFormatException"), settings).check(
            png(), "image/png"
        )
