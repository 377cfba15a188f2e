"""Stand-ins for the inference providers' HTTP APIs: OpenAI Images, BytePlus ModelArk, RunPod
serverless and Replicate, in their documented request and response shapes, with their own auth
headers checked. What they return is real media, drawn by the local provider's renderers. Never
deployed.

Mounted (by whoever wants them: ``inference_stand_ins()``) at:

- ``/_local/providers/openai/v1/images/generations``;
- ``/_local/providers/modelark/api/v3/images/generations`` and ``.../contents/generations/tasks[/{id}]``;
- ``/_local/providers/runpod/v2/{endpoint}/run``, ``/status/{id}``, ``/cancel/{id}``;
- ``/_local/providers/replicate/v1/predictions[/{id}[/cancel]]``, ``/v1/models/{owner}/{name}/predictions``
  and ``/v1/webhooks/default/secret``.

Asynchronous jobs move on with time: queued for ``queue_seconds`` (1 s), then running for
``run_seconds`` (2 s), then done; a job is rendered when a look finds it due. A job asked to call back
(Replicate's ``webhook``, RunPod's ``webhook``, ModelArk's ``callback_url``) also finishes on a timer
and calls back, as the real providers do, whether or not anyone looks. Tests hand in a clock they
move; ``LOCAL_INFERENCE_QUEUE_SECONDS``/``LOCAL_INFERENCE_RUN_SECONDS`` or
``POST <prefix>/_control/timing`` ``{"queue_seconds", "run_seconds"}`` set how long jobs take.
Files they make are served from ``<prefix>/files/{id}``; images are drawn at most 1024 pixels a side
(scaled down, aspect kept). Prompts steer them as they steer the local provider: ``[fail]`` makes
the job fail, ``[blocked]`` makes the provider refuse it as its content policy would.

Every stand-in has switches, also reachable over HTTP for the local runtime:
``POST <prefix>/_control/faults`` with ``{"kind": "429" | "500" | "timeout" | "malformed" | "400",
"times": n}`` makes the next n calls fail that way (a timeout sleeps past the adapters' timeout, or
raises ``SimulatedTimeout`` for an in-memory transport to turn into a timeout);
``DELETE <prefix>/_control/faults`` clears them; ``GET <prefix>/_control/jobs`` lists the jobs.
Replicate's ``POST <prefix>/_control/predictions/{id}/complete[?deliver=false]`` finishes a
prediction now and sends (or answers) its signed webhook.

The keys (in ``common``) are documented local-only values, shared by the stand-ins and the settings their
``environment`` hooks give the functions.

The parts: ``common`` (mount points, keys, delivery), ``drawing``, ``core`` (``ProviderStandIn``:
faults, timed jobs, files, callbacks), one module per provider (``openai``, ``modelark``,
``runpod``, ``replicate``) and ``mounting``.
"""

from local.inference.common import (
    BLOCKED_MARKER,
    FAIL_MARKER,
    FAULT_KINDS,
    LOCAL_HTTP_TIMEOUT_SECONDS,
    LOCAL_SYNC_TIMEOUT_SECONDS,
    MAX_DRAWN_SIDE,
    MAX_FILES,
    MODELARK_API_KEY,
    MODELARK_PREFIX,
    OPENAI_API_KEY,
    OPENAI_PREFIX,
    PREFIX,
    REPLICATE_API_TOKEN,
    REPLICATE_PREFIX,
    REPLICATE_WEBHOOK_SECRET,
    RUNPOD_API_KEY,
    RUNPOD_PREFIX,
    TIMEOUT_SLEEP_SECONDS,
    VIDEO_MODEL_WORDS,
    Deliverer,
    SimulatedTimeout,
    http_deliverer,
    local_inference_environment,
)
from local.inference.core import Callback, FakeJob, Faults, ProviderStandIn
from local.inference.drawing import draw_image, draw_video, drawn_size
from local.inference.modelark import ModelArkStandIn
from local.inference.mounting import inference_stand_ins, provider_stand_ins
from local.inference.openai import OpenAIStandIn
from local.inference.replicate import ReplicateStandIn, sign_webhook
from local.inference.runpod import RunPodStandIn

__all__ = [
    "BLOCKED_MARKER",
    "FAIL_MARKER",
    "FAULT_KINDS",
    "LOCAL_HTTP_TIMEOUT_SECONDS",
    "LOCAL_SYNC_TIMEOUT_SECONDS",
    "MAX_DRAWN_SIDE",
    "MAX_FILES",
    "MODELARK_API_KEY",
    "MODELARK_PREFIX",
    "OPENAI_API_KEY",
    "OPENAI_PREFIX",
    "PREFIX",
    "REPLICATE_API_TOKEN",
    "REPLICATE_PREFIX",
    "REPLICATE_WEBHOOK_SECRET",
    "RUNPOD_API_KEY",
    "RUNPOD_PREFIX",
    "TIMEOUT_SLEEP_SECONDS",
    "VIDEO_MODEL_WORDS",
    "Callback",
    "Deliverer",
    "FakeJob",
    "Faults",
    "ModelArkStandIn",
    "OpenAIStandIn",
    "ProviderStandIn",
    "ReplicateStandIn",
    "RunPodStandIn",
    "SimulatedTimeout",
    "draw_image",
    "draw_video",
    "drawn_size",
    "http_deliverer",
    "inference_stand_ins",
    "local_inference_environment",
    "provider_stand_ins",
    "sign_webhook",
]
