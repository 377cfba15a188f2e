"""Test patterns the local provider draws on request, so moderation can be exercised on purpose.

A prompt containing ``flag:explicit`` or ``flag:suggestive`` gets a two-colour checkerboard over
the top-right quarter of every image or video frame; the local Rekognition stand-in recognises it
(after video compression too: it looks at an 8x8 box-averaged copy) and answers the labels a real
service would give such content. ``flag:minor`` replaces the whole picture with a fixed pattern
whose perceptual hash the local runtime lists as known-bad, as a vendor's hash set lists known
abuse material. Nothing here is used outside the local provider, its stand-ins and the tests.
"""

from __future__ import annotations

from typing import Any

EXPLICIT = "flag:explicit"
SUGGESTIVE = "flag:suggestive"
MINOR = "flag:minor"

_GRID = 8
_TOLERANCE = 48
_CHECKERS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    EXPLICIT: ((255, 0, 255), (0, 255, 0)),
    SUGGESTIVE: ((255, 128, 0), (0, 0, 255)),
}


def marker_in(prompt: str) -> str | None:
    lowered = prompt.lower()
    for marker in (MINOR, EXPLICIT, SUGGESTIVE):
        if marker in lowered:
            return marker
    return None


def minor_pattern(width: int, height: int) -> Any:
    """A fixed picture (concentric bands and bars) that does not depend on the request."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (20, 20, 20))
    draw = ImageDraw.Draw(image)
    for band in range(8):
        across, down = band * width // 18, band * height // 18
        shade = (230, 230, 230) if band % 2 == 0 else (40, 40, 40)
        draw.rectangle((across, down, width - 1 - across, height - 1 - down), fill=shade)
    draw.rectangle((0, height * 3 // 8, width // 4, height * 5 // 8), fill=(250, 250, 250))
    return image


def draw_marker(image: Any, marker: str | None) -> Any:
    """The image with the marker drawn on it (a new image for ``flag:minor``)."""
    if marker is None:
        return image
    if marker == MINOR:
        return minor_pattern(*image.size).convert(image.mode)
    from PIL import ImageDraw

    first, second = _CHECKERS[marker]
    width, height = image.size
    draw = ImageDraw.Draw(image)
    for row in range(_GRID // 2):
        for column in range(_GRID // 2, _GRID):
            colour = first if (row + column) % 2 == 0 else second
            box = (column * width // _GRID, row * height // _GRID)
            end = ((column + 1) * width // _GRID - 1, (row + 1) * height // _GRID - 1)
            draw.rectangle((*box, *end), fill=colour)
    return image


def detect_marker(image: Any) -> str | None:
    """``flag:explicit`` or ``flag:suggestive`` when the checkerboard is there, else None."""
    from PIL import Image

    small = image.convert("RGB").resize((_GRID, _GRID), Image.Resampling.BOX)
    for marker, (first, second) in _CHECKERS.items():
        if all(
            _near(small.getpixel((column, row)), first if (row + column) % 2 == 0 else second)
            for row in range(_GRID // 2)
            for column in range(_GRID // 2, _GRID)
        ):
            return marker
    return None


def _near(pixel: Any, colour: tuple[int, int, int]) -> bool:
    return all(abs(int(value) - wanted) <= _TOLERANCE for value, wanted in zip(pixel, colour, strict=False))


def minor_pattern_hash() -> str:
    """The pattern's pHash (hex), as the local runtime lists it among the known-bad hashes."""
    from atelier.integrations.perceptual_hash import phash

    return str(phash(minor_pattern(512, 512)))
