"""Text the API trims before measuring it: what the document allows, the API accepts, and text
of white space alone is refused by the document too (a client written from it learns the rule
before sending, and a schema-valid request is never answered 422 for it)."""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from typing import Annotated, Any, get_args, get_origin

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import atelier.api.schemas
from atelier.api.schemas.common import StrictRequest

# Every character Python's trimming removes, and the white space JSON Schema's `\s` knows besides.
TRIMMED = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()]
OTHER_SPACE = ["\ufeff"]


def _required_trimmed_fields() -> list[tuple[str, str, Any]]:
    """(model, field, the field's text type) for every request field of trimmed, required text."""
    for module in pkgutil.iter_modules(atelier.api.schemas.__path__):
        importlib.import_module(f"atelier.api.schemas.{module.name}")
    found = []
    pending: list[type[BaseModel]] = [StrictRequest]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        for name, field in model.model_fields.items():
            annotation = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
            for text_type in _text_types(annotation):
                found.append((model.__name__, name, text_type))
    return sorted(found, key=lambda entry: entry[:2])


def _text_types(annotation: Any) -> list[Any]:
    """The Annotated string types in an annotation (through `X | None`, lists and Annotated)."""
    if get_origin(annotation) is Annotated:
        inner, *metadata = get_args(annotation)
        trims = any(
            getattr(item, "strip_whitespace", False) and (getattr(item, "min_length", 0) or 0) > 0 for item in metadata
        )
        return [annotation] if trims and inner is str else _text_types(inner)
    return [found for argument in get_args(annotation) for found in _text_types(argument)]


FIELDS = _required_trimmed_fields()


def test_the_trimmed_fields_are_found():
    names = {f"{model}.{name}" for model, name, _ in FIELDS}
    assert {"UpdateMeRequest.name", "SubmitJobRequest.prompt", "ResolveReportRequest.note"} <= names


@pytest.mark.parametrize(("model", "name", "text_type"), FIELDS, ids=[f"{model}.{name}" for model, name, _ in FIELDS])
def test_white_space_alone_is_refused_by_the_document_and_by_the_api(model: str, name: str, text_type: Any):
    adapter = TypeAdapter(text_type)
    pattern = re.compile(adapter.json_schema()["pattern"])
    for blank in [*TRIMMED, *OTHER_SPACE, " \u00a0\u2028 ", "\t\r\n"]:
        # Then the document refuses it (Python's `\s` is as wide as JSON Schema's for these)
        assert not pattern.search(blank), f"{model}.{name}: the document allows {blank!r}"
        with pytest.raises(ValidationError):
            adapter.validate_python(blank)


@pytest.mark.parametrize(("model", "name", "text_type"), FIELDS, ids=[f"{model}.{name}" for model, name, _ in FIELDS])
def test_text_the_document_allows_is_accepted_trimmed(model: str, name: str, text_type: Any):
    adapter = TypeAdapter(text_type)
    pattern = re.compile(adapter.json_schema()["pattern"])
    for text in ["Ada", " Ada ", "\u00a0Ada\u2028", "\x85A", "\ufeffA", "A\u3000"]:
        if pattern.search(text):
            assert adapter.validate_python(text) == text.strip(), f"{model}.{name} refused {text!r}"
