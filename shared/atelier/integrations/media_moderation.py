"""Media moderation (P17): what an image or video shows, judged before anyone but its owner sees it.

Two checks, cheapest first:

- a known-bad perceptual-hash list (pHash in ImageHash's hex format, e.g. a vendor's hash set,
  computed by ``perceptual_hash`` with Pillow alone): a match within ``known_bad_hash_distance`` bits
  is a minor-safety hit;
- Amazon Rekognition ``DetectModerationLabels`` on the image, or on frames of a video sampled at the
  first frame (the poster) and every ``moderation_video_frame_seconds`` after it. Locally the same
  client talks to a stand-in (``REKOGNITION_ENDPOINT_URL``) that speaks Rekognition's JSON protocol.

Each label is matched against per-category rules from settings (a label's own name or its parent's,
at or above the rule's confidence): the strictest matching rule decides. A failure of the service
is ``MediaModerationUnavailableError`` (retryable): nothing is ever passed unchecked.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import IntEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from atelier import errors
from atelier.integrations.perceptual_hash import PerceptualHash, phash
from atelier.settings import MediaModerationRule, Settings

# Rekognition takes JPEG or PNG bytes up to 5 MB; frames and other formats are sent as JPEG.
_MAX_IMAGE_BYTES = 5 * 1024 * 1024
_MAX_SIDE = 1920


class MediaModerationUnavailableError(errors.DependencyUnavailableError):
    """The moderation service could not answer: the media waits (fail closed) and is tried again."""

    code = "moderation_unavailable"
    default_message = "Media moderation is unavailable; the item waits until it can be checked."


class Verdict(IntEnum):
    """Ordered by severity: the strictest rule any label meets decides."""

    ALLOWED = 0
    RESTRICTED = 1  # kept private: never published or shared
    BLOCKED = 2  # discarded
    MINOR_SAFETY = 3  # quarantined for the legal report, never served

    @property
    def label(self) -> str:
        return self.name.lower()


class ModerationLabel(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    name: str = Field(alias="Name")
    parent_name: str = Field(default="", alias="ParentName")
    confidence: float = Field(alias="Confidence")
    taxonomy_level: int | None = Field(default=None, alias="TaxonomyLevel")


class MediaVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    # The category that decided (a rule's label, or "known_bad_hash"), None when allowed.
    category: str | None = None
    labels: list[str] = Field(default_factory=list)
    frames_checked: int = 0

    @property
    def reason(self) -> str | None:
        return None if self.category is None else f"{self.verdict.label}:{self.category}"


class MediaModeration(Protocol):
    def check(self, content: bytes, content_type: str) -> MediaVerdict: ...


class ModerationLabelsClient(Protocol):
    """The one Rekognition call used (boto3's client satisfies it)."""

    def detect_moderation_labels(self, **kwargs: Any) -> dict[str, Any]: ...


def decide(labels: Iterable[ModerationLabel], rules: dict[str, MediaModerationRule]) -> tuple[Verdict, str | None]:
    verdict, category = Verdict.ALLOWED, None
    for label in labels:
        for name in (label.name, label.parent_name):
            rule = rules.get(name) if name else None
            if rule is None or label.confidence < rule.min_confidence:
                continue
            found = Verdict[rule.verdict.upper()]
            if found > verdict:
                verdict, category = found, name
    return verdict, category


# ------------------------------------------------------------------------------------------
# Frames.
# ------------------------------------------------------------------------------------------
def _as_jpeg(image: Any) -> bytes:
    from PIL import Image

    image = image.convert("RGB")
    if max(image.size) > _MAX_SIDE:
        image.thumbnail((_MAX_SIDE, _MAX_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def video_frames(content: bytes, *, every_seconds: float) -> Iterator[Any]:
    """The first frame (the poster) and one every ``every_seconds`` after it, decoded with PyAV."""
    try:
        import av
    except ImportError as exc:  # the worker's layer ships PyAV; a build without it cannot judge videos
        raise MediaModerationUnavailableError("Videos cannot be checked here.") from exc
    try:
        with av.open(io.BytesIO(content), mode="r") as container:
            stream = container.streams.video[0]
            next_at = 0.0
            for frame in container.decode(stream):
                at = float(frame.time) if frame.time is not None else next_at
                if at + 1e-6 >= next_at:
                    yield frame.to_image()
                    next_at = at + every_seconds
    except (av.error.FFmpegError, IndexError) as exc:
        raise errors.InvalidFieldError("The video could not be read for moderation.") from exc


# ------------------------------------------------------------------------------------------
# Known-bad hashes.
# ------------------------------------------------------------------------------------------
def perceptual_hash(image: Any) -> str:
    return str(phash(image))


class HashList:
    def __init__(self, hashes: Iterable[str], max_distance: int) -> None:
        self._hashes = [PerceptualHash.from_hex(value) for value in hashes if value.strip()]
        self._max_distance = max_distance

    def matches(self, image: Any) -> bool:
        if not self._hashes:
            return False
        found = phash(image)
        return any(found - known <= self._max_distance for known in self._hashes)


# ------------------------------------------------------------------------------------------
# Rekognition.
# ------------------------------------------------------------------------------------------
def rekognition_client(settings: Settings) -> ModerationLabelsClient:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=settings.trust.moderation_timeout_seconds,
        read_timeout=settings.trust.moderation_timeout_seconds,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    client: ModerationLabelsClient = boto3.client(
        "rekognition", endpoint_url=settings.trust.rekognition_endpoint_url or None, config=config
    )
    return client


class RekognitionModeration:
    def __init__(self, client: Callable[[], ModerationLabelsClient], settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self._hashes = HashList(settings.trust.known_bad_image_hashes, settings.trust.known_bad_hash_distance)

    def check(self, content: bytes, content_type: str) -> MediaVerdict:
        frames = self._frames(content, content_type)
        if any(self._hashes.matches(frame) for frame in frames):
            return MediaVerdict(verdict=Verdict.MINOR_SAFETY, category="known_bad_hash", frames_checked=len(frames))
        labels: list[ModerationLabel] = []
        for frame in frames:
            labels.extend(self.labels(_as_jpeg(frame)))
        verdict, category = decide(labels, self._settings.trust.media_moderation_rules)
        return MediaVerdict(
            verdict=verdict,
            category=category,
            labels=sorted({label.name for label in labels}),
            frames_checked=len(frames),
        )

    def _frames(self, content: bytes, content_type: str) -> Sequence[Any]:
        from PIL import Image

        if content_type.startswith("video/"):
            return list(video_frames(content, every_seconds=self._settings.trust.moderation_video_frame_seconds))
        try:
            with Image.open(io.BytesIO(content)) as image:
                image.load()
                return [image.copy()]
        except (OSError, ValueError) as exc:
            raise errors.InvalidFieldError("The image could not be read for moderation.") from exc

    def labels(self, jpeg: bytes) -> list[ModerationLabel]:
        from botocore.exceptions import BotoCoreError, ClientError

        if len(jpeg) > _MAX_IMAGE_BYTES:
            raise errors.InvalidFieldError("The image is too large to be checked.")
        try:
            answer = self._client().detect_moderation_labels(
                Image={"Bytes": jpeg}, MinConfidence=self._settings.trust.moderation_min_confidence
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("InvalidImageFormatException", "ImageTooLargeException", "InvalidParameterException"):
                raise errors.InvalidFieldError("The image could not be checked.") from exc
            raise MediaModerationUnavailableError() from exc
        except BotoCoreError as exc:
            raise MediaModerationUnavailableError() from exc
        try:
            return [ModerationLabel.model_validate(label) for label in answer.get("ModerationLabels", [])]
        except ValueError as exc:
            raise MediaModerationUnavailableError("The moderation service answered nonsense.") from exc
