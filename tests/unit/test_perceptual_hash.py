"""The Pillow-only perceptual hash gives ImageHash's values, so vendor hash lists keep matching.

The expected values were computed by ImageHash 4.3.2 (numpy, scipy) on the pictures beside them
(tests/fixtures/perceptual_hash/make_fixtures.py); ImageHash is not installed to run this test.
"""

import json
from pathlib import Path

import pytest
from PIL import Image

from atelier.integrations.inference import safety_markers
from atelier.integrations.media_moderation import HashList, perceptual_hash
from atelier.integrations.perceptual_hash import PerceptualHash, dhash, phash

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "perceptual_hash"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def _picture(name: str) -> Image.Image:
    with Image.open(FIXTURES / name) as picture:
        picture.load()
        return picture.copy()


@pytest.mark.parametrize("name", sorted(EXPECTED["hashes"]))
def test_hashes_equal_imagehash_outputs(name):
    picture = _picture(name)
    expected = EXPECTED["hashes"][name]
    assert str(phash(picture)) == expected["phash"]
    assert str(dhash(picture)) == expected["dhash"]
    assert str(phash(picture, hash_size=16)) == expected["phash_16"]


def test_the_fixtures_cover_exact_symmetries_and_every_image_mode():
    # Flat and symmetric pictures have coefficients that are zero in exact arithmetic: the cases in
    # which a sum in another order could put a bit on the other side of the median.
    names = set(EXPECTED["hashes"])
    assert {"flat.png", "rings-symmetric.png", "minor-pattern-small.png"} <= names
    assert {_picture(name).mode for name in names} >= {"RGB", "RGBA", "L", "P"}


@pytest.mark.parametrize("pair", sorted(EXPECTED["phash_distances"]))
def test_distances_equal_imagehash_subtraction(pair):
    first, second = pair.split("|")
    distance = PerceptualHash.from_hex(EXPECTED["hashes"][first]["phash"]) - PerceptualHash.from_hex(
        EXPECTED["hashes"][second]["phash"]
    )
    assert distance == EXPECTED["phash_distances"][pair]


def test_hex_round_trips_keep_leading_zeros_and_reject_non_square_lengths():
    assert str(PerceptualHash.from_hex("000000000000000f")) == "000000000000000f"
    assert PerceptualHash.from_hex(" ABCDEF0123456789 ").bits == 0xABCDEF0123456789
    assert PerceptualHash.from_hex("ff" * 32).size == 16
    with pytest.raises(ValueError, match="not a square"):
        PerceptualHash.from_hex("abc")
    with pytest.raises(ValueError, match="different sizes"):
        PerceptualHash.from_hex("8000000000000000") - PerceptualHash.from_hex("ff" * 32)


def test_the_hash_list_matches_within_the_distance_only():
    picture = _picture("shapes.png")
    own = perceptual_hash(picture)
    assert HashList([own], max_distance=0).matches(picture)
    one_bit_away = f"{int(own, 16) ^ 1:016x}"
    assert not HashList([one_bit_away], max_distance=0).matches(picture)
    assert HashList(["", one_bit_away], max_distance=1).matches(picture)
    assert not HashList([], max_distance=64).matches(picture)


def test_the_local_known_bad_pattern_hash_is_imagehashs():
    assert safety_markers.minor_pattern_hash() == EXPECTED["hashes"]["minor-pattern.png"]["phash"]
