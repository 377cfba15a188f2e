"""A programmable inference provider, a queue that keeps messages, and the submission and worker
dependencies as the platform builds them with a test's stand-ins, for pipeline tests."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from atelier.integrations.inference.base import (
    CallbackSignatureError,
    GenerationRequest,
    ProviderError,
    ProviderJob,
    ProviderOutput,
    ProviderStatus,
)
from atelier.services import get_services
from atelier.usecases.run_generation import RunGenerationDeps
from atelier.usecases.submit_job import SubmitJobDeps


def submit_job_deps(**stand_ins: Any) -> SubmitJobDeps:
    """What the jobs route submits with, some collaborators replaced (a kept queue, a moved clock,
    other settings); no webhook is sent unless `events` is given."""
    return replace(SubmitJobDeps.from_services(get_services()), **{"events": None, **stand_ins})


def run_generation_deps(**stand_ins: Any) -> RunGenerationDeps:
    """What the worker runs a step with, some collaborators replaced (a fake provider, a kept queue);
    no webhook is sent unless `events` is given."""
    return replace(RunGenerationDeps.from_services(get_services()), **{"events": None, **stand_ins})


def png_bytes(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 30, 90)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class FakeProvider:
    """Synchronous by default; `asynchronous=True` answers QUEUED, then `polls_to_finish` RUNNINGs."""

    name: str = "local"
    asynchronous: bool = False
    polls_to_finish: int = 1
    outcome: ProviderStatus = ProviderStatus.SUCCEEDED
    failures_before_success: int = 0
    submitted: list[GenerationRequest] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)

    def _final(self, job_id: str) -> ProviderJob:
        if self.outcome is ProviderStatus.SUCCEEDED:
            return ProviderJob(
                provider_job_id=job_id,
                status=ProviderStatus.SUCCEEDED,
                outputs=[ProviderOutput(content=png_bytes(), content_type="image/png")],
                compute_seconds=1.5,
            )
        return ProviderJob(
            provider_job_id=job_id,
            status=self.outcome,
            error_code="generation_failed",
            error_message="no",
            charged=False,
        )

    def submit(self, request: GenerationRequest) -> ProviderJob:
        if self.failures_before_success > 0:
            self.failures_before_success -= 1
            raise ProviderError()
        self.submitted.append(request)
        provider_job_id = f"pj-{request.job_id}"
        if not self.asynchronous:
            return self._final(provider_job_id)
        self.polls[provider_job_id] = 0
        return ProviderJob(provider_job_id=provider_job_id, status=ProviderStatus.QUEUED, queue_position=3)

    def status(self, provider_job_id: str) -> ProviderJob:
        if provider_job_id in self.canceled:
            return ProviderJob(provider_job_id=provider_job_id, status=ProviderStatus.CANCELED, charged=False)
        self.polls[provider_job_id] = self.polls.get(provider_job_id, 0) + 1
        if self.polls[provider_job_id] < self.polls_to_finish:
            return ProviderJob(provider_job_id=provider_job_id, status=ProviderStatus.RUNNING, progress=0.5)
        return self._final(provider_job_id)

    def cancel(self, provider_job_id: str) -> bool:
        self.canceled.append(provider_job_id)
        return True

    def fetch_output(self, output: ProviderOutput, *, max_bytes: int) -> bytes:
        assert output.content is not None
        return output.content

    def verify_callback(
        self, headers: Mapping[str, str], raw_body: bytes, query: Mapping[str, str] | None = None
    ) -> str:
        if headers.get("x-signature") != "valid":
            raise CallbackSignatureError()
        return raw_body.decode()


@dataclass
class KeptMessages:
    """A queue that keeps what is sent, so a test can deliver the messages itself."""

    sent: list[tuple[object, int]] = field(default_factory=list)
    fail_next: int = 0

    def send(self, message: object, *, delay_seconds: int = 0) -> None:
        if self.fail_next:
            from atelier import errors

            self.fail_next -= 1
            raise errors.DependencyUnavailableError()
        self.sent.append((message, delay_seconds))

    def take(self) -> list[object]:
        messages = [message for message, _ in self.sent]
        self.sent.clear()
        return messages
