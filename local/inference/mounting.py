"""The stand-ins as the local runtime and the tests mount them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from local.inference.core import ProviderStandIn
from local.inference.modelark import ModelArkStandIn
from local.inference.openai import OpenAIStandIn
from local.inference.replicate import ReplicateStandIn
from local.inference.runpod import RunPodStandIn
from local.standins import StandIn


def provider_stand_ins(**options: Any) -> list[ProviderStandIn]:
    """One stand-in per provider; ``options`` go to each (Replicate's own ones to Replicate only)."""
    names = (
        "timeout_mode",
        "timeout_sleep_seconds",
        "queue_seconds",
        "run_seconds",
        "clock",
        "deliver",
        "deliver_in_background",
    )
    shared: dict[str, Any] = {name: options[name] for name in names if name in options}
    replicate = {name: options[name] for name in ("webhook_secret",) if name in options}
    return [
        OpenAIStandIn(**shared),
        ModelArkStandIn(**shared),
        RunPodStandIn(**shared),
        ReplicateStandIn(**shared, **replicate),
    ]


def inference_stand_ins(environ: Mapping[str, str] | None = None) -> list[StandIn]:
    """The four provider stand-ins as the local runtime mounts them, each with the ``environment``
    hook that points the adapters at it. ``LOCAL_INFERENCE_QUEUE_SECONDS`` and
    ``LOCAL_INFERENCE_RUN_SECONDS`` (environment) set how long their jobs take."""
    import os

    found = os.environ if environ is None else environ
    timing = {
        option: float(found[variable])
        for option, variable in (
            ("queue_seconds", "LOCAL_INFERENCE_QUEUE_SECONDS"),
            ("run_seconds", "LOCAL_INFERENCE_RUN_SECONDS"),
        )
        if found.get(variable)
    }
    return [stand_in.stand_in() for stand_in in provider_stand_ins(**timing)]
