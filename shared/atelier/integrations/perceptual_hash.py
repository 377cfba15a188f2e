"""Perceptual hashes in ImageHash's format (pHash and dHash, hex strings), computed with Pillow alone.

Known-bad hash lists (a vendor's set, the local runtime's test pattern) are written as
``str(imagehash.phash(image))``: 64 bits, row-major, first bit most significant, as hex. ImageHash
computes the pHash with numpy and scipy (about 200 MB unzipped with their bundled libraries, more
than a Lambda function and its layers may hold next to PyAV), so the same algorithm is written out
here: the image in greyscale, resized to 32x32 with Lanczos (Pillow, as ImageHash does), the
unnormalised DCT-II down the columns and then along the rows (scipy.fftpack's default), the top-left
8x8 low frequencies compared with their median. Only those 64 of the 1,024 coefficients are
computed, so it costs a few thousand multiplications per image.

The hashes equal ImageHash 4.3.2's (tests/unit/test_perceptual_hash.py checks them against values
ImageHash computed, kept as fixtures). A coefficient within floating-point rounding of the median
(possible only when two coefficients differ by rounding alone) may fall on the other side than
scipy's FFT puts it; that is a bit of distance, well inside any matching threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

HASH_SIZE = 8
_HIGH_FREQUENCY_FACTOR = 4


@dataclass(frozen=True)
class PerceptualHash:
    """A square bit matrix (``size`` x ``size``), as ImageHash's ``ImageHash`` holds it."""

    bits: int
    size: int = HASH_SIZE

    @classmethod
    def from_hex(cls, value: str) -> PerceptualHash:
        """Reads ``str(imagehash_hash)`` back (ImageHash's ``hex_to_hash``)."""
        text = value.strip().lower()
        size = math.isqrt(len(text) * 4)
        if size < 2 or size * size != len(text) * 4:
            raise ValueError(f"{value!r} is not a square perceptual hash in hex")
        return cls(int(text, 16), size)

    @classmethod
    def from_rows(cls, rows: list[list[bool]]) -> PerceptualHash:
        bits = 0
        for row in rows:
            for bit in row:
                bits = (bits << 1) | int(bit)
        return cls(bits, len(rows))

    def __str__(self) -> str:
        width = math.ceil(self.size * self.size / 4)
        return f"{self.bits:0{width}x}"

    def __sub__(self, other: PerceptualHash) -> int:
        """The Hamming distance, as ImageHash's ``hash1 - hash2``."""
        if self.size != other.size:
            raise ValueError("hashes of different sizes cannot be compared")
        return (self.bits ^ other.bits).bit_count()


def _greyscale_rows(image: Any, width: int, height: int) -> list[bytes]:
    from PIL import Image

    small = image.convert("L").resize((width, height), Image.Resampling.LANCZOS)
    data = small.tobytes()
    return [data[row * width : (row + 1) * width] for row in range(height)]


@lru_cache(maxsize=4)
def _cosines(frequencies: int, length: int) -> tuple[tuple[float, ...], ...]:
    """``2 cos(pi k (2n + 1) / 2N)``: scipy.fftpack's unnormalised DCT-II basis, first ``frequencies`` rows.

    Every entry is ``cos(m pi / 2N)`` for a whole ``m``; each is taken, with its sign, from one table
    of the first quarter turn (``cos(pi / 2)`` exactly 0). Values equal or opposite in mathematics
    are then equal or opposite in floating point, so a coefficient that cancels exactly (a flat
    picture, or one symmetric about its middle) comes out as exactly zero, as scipy's FFT gives
    it, and its hash bit agrees with ImageHash's.
    """
    quarter = [2.0 * math.cos(math.pi * m / (2 * length)) for m in range(length)] + [0.0]
    full_turn = 4 * length

    def entry(m: int) -> float:
        m %= full_turn
        m = min(m, full_turn - m)  # cos is even about a full turn
        return quarter[m] if m <= length else -quarter[2 * length - m]  # cos(pi - x) = -cos(x)

    return tuple(tuple(entry(k * (2 * n + 1)) for n in range(length)) for k in range(frequencies))


def low_frequencies(image: Any, hash_size: int = HASH_SIZE) -> list[list[float]]:
    """The top-left ``hash_size`` x ``hash_size`` DCT coefficients the pHash compares with their median."""
    side = hash_size * _HIGH_FREQUENCY_FACTOR
    rows = _greyscale_rows(image, side, side)
    basis = _cosines(hash_size, side)
    # DCT along axis 0 (down each column), low frequencies only: columns[k][j]. fsum rounds once,
    # so values that cancel in exact arithmetic come out as exactly zero.
    columns = [[math.fsum(weights[n] * rows[n][j] for n in range(side)) for j in range(side)] for weights in basis]
    # Then along axis 1 (each row of that), low frequencies only: low[k][l].
    return [[math.fsum(weights[j] * row[j] for j in range(side)) for weights in basis] for row in columns]


def phash(image: Any, hash_size: int = HASH_SIZE) -> PerceptualHash:
    """ImageHash's ``phash(image, hash_size)`` (high-frequency factor 4)."""
    if hash_size < 2:
        raise ValueError("the hash size must be at least 2")
    low = low_frequencies(image, hash_size)
    values = sorted(value for row in low for value in row)
    middle = len(values) // 2
    median = values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
    return PerceptualHash.from_rows([[value > median for value in row] for row in low])


def dhash(image: Any, hash_size: int = HASH_SIZE) -> PerceptualHash:
    """ImageHash's ``dhash(image, hash_size)``: is each pixel brighter than its left neighbour."""
    if hash_size < 2:
        raise ValueError("the hash size must be at least 2")
    rows = _greyscale_rows(image, hash_size + 1, hash_size)
    return PerceptualHash.from_rows([[row[j + 1] > row[j] for j in range(hash_size)] for row in rows])
