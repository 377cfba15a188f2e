"""Properties of what a client controls outright: a list cursor and a job's numeric parameters.

Whatever is sent, the answer is the value understood or a domain error naming the field (an HTTP
422), never an exception that escapes as a 500. Hypothesis generates the cases (a few hundred each),
biased towards the shapes that used to slip through: a gallery cursor that decodes to the right keys
with the wrong contents, and NaN, infinities and huge or negative numbers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atelier import errors
from atelier.data.gallery import GalleryCursor, previous_month
from atelier.settings import get_settings
from atelier.usecases.list_models import list_models, validate_params

CASES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome[T](call: Callable[[], T]) -> tuple[T | None, errors.InvalidFieldError | None]:
    """What the call answered, or the invalid-field refusal it raised (anything else escapes)."""
    try:
        return call(), None
    except errors.InvalidFieldError as exc:
        return None, exc


def _encoded(value: Any) -> str:
    raw = json.dumps(value, allow_nan=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_text = st.text(max_size=40)
_json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _text
_after_like = st.lists(st.text(alphabet="0123456789abcdefTZ:.#_-|", max_size=30), max_size=5).map("|".join)
_month_like = st.from_regex(r"[0-9]{4}-[0-9]{2}", fullmatch=True) | _text
_cursor_objects = st.fixed_dictionaries(
    {"m": _month_like | _json_scalars, "a": _after_like | _json_scalars},
    optional={"x": _json_scalars},
)
_cursors = (
    _cursor_objects.map(_encoded)
    | st.recursive(_json_scalars, lambda inner: st.lists(inner) | st.dictionaries(_text, inner), max_leaves=5).map(
        _encoded
    )
    | st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", max_size=120)
)


@CASES
@given(_cursors)
def test_a_gallery_cursor_is_understood_or_refused_as_an_invalid_field(cursor: str) -> None:
    # When any cursor is decoded
    position, refusal = _outcome(lambda: GalleryCursor.decode(cursor))
    if refusal is not None:
        # Then a refusal names the cursor
        assert refusal.details == [{"field": "cursor", "location": "query"}]
        return
    assert position is not None
    # Or what was understood can be used: the month and the position within it have the shapes
    # the page query and the step to the month before take apart.
    previous_month(position.month)
    if position.after is not None:
        published, owner, asset = position.after.split("|")
        assert published
        assert owner
        assert asset


def test_the_crafted_cursor_that_used_to_answer_500_is_refused() -> None:
    with pytest.raises(errors.InvalidFieldError):
        GalleryCursor.decode(_encoded({"m": "2026-12", "a": "nopipe"}))


def test_a_cursor_the_gallery_wrote_is_understood() -> None:
    written = GalleryCursor(month="2026-12", after="2026-12-06T10:00:00.000Z#ast_01j|acc_01j|ast_01j")
    assert GalleryCursor.decode(written.encode()) == written


_MODELS = {model.id: model for model in list_models(get_settings())}
_NUMERIC = [
    (model_id, name)
    for model_id, model in _MODELS.items()
    for name, spec in model.params.items()
    if spec.type in ("integer", "number")
]
_hostile_numbers = (
    st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 10**400, -(10**400), 2**53 + 1, 1e308, -1e308])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
)


@CASES
@given(st.sampled_from(_NUMERIC), _hostile_numbers)
def test_a_numeric_parameter_is_accepted_within_its_bounds_or_refused_naming_it(
    target: tuple[str, str], value: Any
) -> None:
    model_id, name = target
    model = _MODELS[model_id]
    spec = model.params[name]
    # When a job's parameter is given this value
    resolved, refusal = _outcome(lambda: validate_params(model, {name: value}))
    if refusal is not None:
        # Then a refusal names the parameter
        assert refusal.details[0]["field"] == f"params.{name}"
        return
    assert resolved is not None
    # Or it is accepted only within the model's bounds, and the job can be priced
    accepted = resolved[name]
    assert accepted == accepted  # not NaN
    assert spec.minimum is None or accepted >= spec.minimum
    assert spec.maximum is None or accepted <= spec.maximum
    assert model.price.credits(resolved) >= 1


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 10**400, -1])
def test_the_video_duration_that_used_to_answer_500_is_refused(value: Any) -> None:
    with pytest.raises(errors.InvalidFieldError):
        validate_params(_MODELS["local-video"], {"duration_s": value})
