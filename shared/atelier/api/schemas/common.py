"""Shapes shared by every route."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from atelier.models.email import EMAIL_ADDRESS_MAX_LENGTH, EMAIL_ADDRESS_PATTERN

# Text is trimmed before it is measured, so white space alone is empty: a required text needs one
# character no trimming removes, and its pattern says so in the document (JSON Schema's white space
# is wider than the trimming's; `\x1c-\x1f` and `\x85` are what trimming removes besides).
KEPT_BY_TRIMMING = r"[^\s\ufeff\x1c-\x1f\x85]"


def single_line_text(max_length: int, also_refused: str = "") -> StringConstraints:
    """Trimmed, non-empty, bounded, no control characters (nor `also_refused`, a class's contents)."""
    allowed = rf"[^{also_refused}\x00-\x1f\x7f]"
    visible = rf"[^{also_refused}\s\ufeff\x00-\x1f\x7f-\x9f]"
    pattern = rf"^{allowed}*{visible}{allowed}*$"
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length, pattern=pattern)


def multi_line_text(max_length: int) -> StringConstraints:
    """Trimmed, non-empty and bounded; line breaks allowed (prompts, notes)."""
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length, pattern=KEPT_BY_TRIMMING)


# Display names and labels.
DisplayText = Annotated[str, single_line_text(100)]
# An address mail can be sent to (the same rule sign-in applies to the provider's address).
# Anything looser was stored, then broke every email sent to it.
EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=EMAIL_ADDRESS_MAX_LENGTH, pattern=EMAIL_ADDRESS_PATTERN),
]


class StrictRequest(BaseModel):
    """Request bodies reject fields they do not know, so a typo is an error, not silently ignored,
    and take JSON's types as they are: "5" is no integer and 0 no boolean, as the document says (a
    lax parse turned `{"monthly_credits": false}` into a spend cap of 0)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _time_as_text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("Input should be an ISO 8601 date and time with its offset")
    return value


def _whole_float_as_int(value: Any) -> Any:
    # JSON Schema counts 5.0 as an integer, and so does the document; a strict int would not.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _booleans_only(value: Any) -> Any:
    # A literal `True` alone would also match 1 (1 == True).
    if not isinstance(value, bool):
        raise ValueError("Input should be a valid boolean")
    return value


# A time in a request body: JSON has no time type, so it is an ISO-8601 string (with its offset),
# never a number of seconds. Not strict itself, since a strict datetime takes only datetime objects.
RequestTime = Annotated[AwareDatetime, Field(strict=False), BeforeValidator(_time_as_text)]
# Marks an integer in a request body as taking 5 or 5.0, never "5" or false. It goes after the
# field's bounds (`Annotated[int, Field(ge=1), WholeNumber]`), so the bounds stay in the schema.
WholeNumber = BeforeValidator(_whole_float_as_int)
# A box that must be ticked: JSON `true`, nothing else.
MustBeTrue = Annotated[Literal[True], BeforeValidator(_booleans_only)]
