"""The models on offer, and the validation of a job's parameters against a model's schema."""

from __future__ import annotations

from typing import Any

from atelier import errors
from atelier.models.generation import ModelSpec, ParamSpec
from atelier.settings import Settings


def list_models(settings: Settings) -> list[ModelSpec]:
    return [ModelSpec(**spec) for spec in settings.generation.models]


def find_model(model_id: str, settings: Settings) -> ModelSpec:
    for model in list_models(settings):
        if model.id == model_id:
            return model
    raise errors.InvalidFieldError("No such model.", details=[{"field": "model", "location": "body"}])


# Beyond this a number cannot be exact in JSON (a double): no parameter needs it, and prices computed
# from such a value would overflow.
_LARGEST_NUMBER = 2**53


def _invalid(name: str, message: str) -> errors.InvalidFieldError:
    return errors.InvalidFieldError(
        message, details=[{"field": f"params.{name}", "location": "body", "message": message}]
    )


def _check(name: str, spec: ParamSpec, value: Any) -> Any:
    if spec.type == "boolean":
        if not isinstance(value, bool):
            raise _invalid(name, "must be true or false")
        return value
    if spec.type == "string":
        if not isinstance(value, str):
            raise _invalid(name, "must be a string")
    elif spec.type == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(name, "must be an integer")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(name, "must be a number")
    if spec.type in ("integer", "number") and not abs(value) <= _LARGEST_NUMBER:
        # NaN compares false with every bound, so it would pass the checks below (and so it fails
        # this one); infinity and huge integers have no price. Compared as given, never converted.
        raise _invalid(name, "must be a finite number")
    if spec.choices is not None and value not in spec.choices:
        raise _invalid(name, f"must be one of {spec.choices}")
    if spec.minimum is not None and value < spec.minimum:
        raise _invalid(name, f"must be at least {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise _invalid(name, f"must be at most {spec.maximum:g}")
    return value


def validate_params(model: ModelSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters with defaults filled in; unknown or invalid ones answer 422 naming the field."""
    unknown = sorted(set(params) - set(model.params))
    if unknown:
        raise _invalid(unknown[0], f"is not a parameter of {model.id}")
    resolved = {name: spec.default for name, spec in model.params.items() if spec.default is not None}
    for name, value in params.items():
        resolved[name] = _check(name, model.params[name], value)
    return resolved
