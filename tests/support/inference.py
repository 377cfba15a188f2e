"""The inference providers' stand-ins behind an in-memory httpx transport (unit tests), or served
over real HTTP by the runtime's own gateway (integration tests), with the real adapters pointed at
them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from atelier.integrations.inference.base import GenerationRequest, ProviderJob
from atelier.integrations.inference.modelark import ModelArkProvider
from atelier.integrations.inference.openai_images import OpenAIImagesProvider
from atelier.integrations.inference.replicate import ReplicateProvider
from atelier.integrations.inference.runpod import RunPodProvider
from atelier.settings import Settings
from local import inference as stand_ins_module
from local.gateway import Gateway, Router
from local.inference import (
    MODELARK_PREFIX,
    OPENAI_PREFIX,
    REPLICATE_PREFIX,
    RUNPOD_PREFIX,
    ProviderStandIn,
    ReplicateStandIn,
    SimulatedTimeout,
    provider_stand_ins,
)
from local.standins import LOCAL_PREFIX, LocalRequest, StandInRegistry

BASE_URL = "http://providers.test"
CALLBACK_URL = "https://atelier.test/v1/webhooks/providers/replicate"
RUNPOD_ENDPOINT = "sdxl-local"


def request(kind: str = "image", prompt: str = "A lighthouse at dusk", **changes: Any) -> GenerationRequest:
    values: dict[str, Any] = {"job_id": "job_001", "kind": kind, "model": "model", "prompt": prompt, "seed": 7}
    return GenerationRequest(**(values | changes))


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Delivery:
    url: str
    headers: dict[str, str]
    body: bytes


class ProviderNetwork:
    """The four stand-ins at ``BASE_URL``, reachable through ``transport``, on a clock that moves only
    when a test says; Replicate's webhooks land in ``deliveries``."""

    def __init__(self, **options: Any) -> None:
        self.deliveries: list[Delivery] = []
        self.clock = ManualClock()
        made = provider_stand_ins(
            timeout_mode="raise", deliver=self._deliver, deliver_in_background=False, clock=self.clock, **options
        )
        self.stand_ins: dict[str, ProviderStandIn] = {stand_in.name: stand_in for stand_in in made}
        self.registry = StandInRegistry()
        for stand_in in made:
            self.registry.mount(stand_in.stand_in())
        self.transport = httpx.MockTransport(self.handle)

    def _deliver(self, url: str, headers: Any, body: bytes) -> int:
        self.deliveries.append(Delivery(url, dict(headers), body))
        return 204

    def handle(self, http_request: httpx.Request) -> httpx.Response:
        url = urlsplit(str(http_request.url))
        found = self.registry.find(url.path) if url.path.startswith(f"{LOCAL_PREFIX}/") else None
        if found is None:
            return httpx.Response(404, json={"error": "no such route"})
        stand_in, subpath = found
        local = LocalRequest(
            method=http_request.method,
            path=url.path,
            subpath=subpath,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in http_request.headers.items()},
            body=http_request.content,
            base_url=BASE_URL,
        )
        try:
            answer = stand_in.handler(local)
        except SimulatedTimeout as exc:
            raise httpx.ReadTimeout("The stand-in was asked to time out.", request=http_request) from exc
        return httpx.Response(answer.status, headers=answer.headers, content=answer.body)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=self.transport)

    def stand_in(self, name: str) -> ProviderStandIn:
        return self.stand_ins[name]

    @property
    def replicate_stand_in(self) -> ReplicateStandIn:
        found = self.stand_ins["replicate"]
        assert isinstance(found, ReplicateStandIn)
        return found

    # -- adapters over the transport ---------------------------------------------------------
    def openai(self, **overrides: Any) -> OpenAIImagesProvider:
        values: dict[str, Any] = {
            "api_key": stand_ins_module.OPENAI_API_KEY,
            "api_base": f"{BASE_URL}{OPENAI_PREFIX}/v1",
            "http": self.client(),
            "trusted_origin": BASE_URL,
        }
        return OpenAIImagesProvider(**(values | overrides))

    def modelark(self, **overrides: Any) -> ModelArkProvider:
        values: dict[str, Any] = {
            "api_key": stand_ins_module.MODELARK_API_KEY,
            "api_base": f"{BASE_URL}{MODELARK_PREFIX}/api/v3",
            "http": self.client(),
            "trusted_origin": BASE_URL,
        }
        return ModelArkProvider(**(values | overrides))

    def runpod(self, **overrides: Any) -> RunPodProvider:
        values: dict[str, Any] = {
            "api_key": stand_ins_module.RUNPOD_API_KEY,
            "api_base": f"{BASE_URL}{RUNPOD_PREFIX}/v2",
            "http": self.client(),
            "trusted_origin": BASE_URL,
        }
        return RunPodProvider(**(values | overrides))

    def replicate(self, **overrides: Any) -> ReplicateProvider:
        values: dict[str, Any] = {
            "api_token": stand_ins_module.REPLICATE_API_TOKEN,
            "webhook_secret": stand_ins_module.REPLICATE_WEBHOOK_SECRET,
            "api_base": f"{BASE_URL}{REPLICATE_PREFIX}/v1",
            "http": self.client(),
            "trusted_origin": BASE_URL,
            "clock": self.clock,
        }
        return ReplicateProvider(**(values | overrides))

    def run_to_end(self, provider: Any, job: ProviderJob) -> ProviderJob:
        """Looks at a job once a second until it is final, as the worker's delayed messages would."""

        def tick() -> None:
            self.clock.advance(1.0)

        return poll_until_final(provider, job, wait=tick)


def poll_until_final(
    provider: Any, job: ProviderJob, *, wait: Callable[[], None] = lambda: None, limit: int = 50
) -> ProviderJob:
    """Looks at a job until it is final, waiting between looks."""
    seen = job
    for _ in range(limit):
        if seen.status.is_final:
            return seen
        wait()
        seen = provider.status(seen.provider_job_id)
    raise AssertionError(f"still {seen.status} after {limit} looks")


# ------------------------------------------------------------------------------------------
# Over real HTTP.
# ------------------------------------------------------------------------------------------
@dataclass
class ServedProviders:
    url: str
    stand_ins: dict[str, ProviderStandIn]
    deliveries: list[Delivery]

    def settings(self, **overrides: Any) -> Settings:
        """Settings as the stand-ins' ``environment`` hook gives them to the local runtime."""
        hook = next(iter(self.stand_ins.values())).stand_in().environment
        assert hook is not None
        return Settings.from_environ({**hook(self.url), "LOCAL_RUNTIME": "true", **overrides})


@contextmanager
def served_providers(**options: Any) -> Iterator[ServedProviders]:
    """The stand-ins served on a loopback port by the local runtime's gateway."""
    deliveries: list[Delivery] = []

    def deliver(url: str, headers: Any, body: bytes) -> int:
        deliveries.append(Delivery(url, dict(headers), body))
        return 204

    made = provider_stand_ins(**({"deliver": deliver, "deliver_in_background": False} | options))
    registry = StandInRegistry()
    for stand_in in made:
        registry.mount(stand_in.stand_in())
    gateway = Gateway(Router([]), lambda function, event: None, registry, "127.0.0.1", 0)
    gateway.start()
    try:
        yield ServedProviders(gateway.url, {stand_in.name: stand_in for stand_in in made}, deliveries)
    finally:
        gateway.stop()
