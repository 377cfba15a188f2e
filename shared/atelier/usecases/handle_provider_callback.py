"""An inference provider's callback: verified where the provider signs them, and treated as a hint.
The job is never finished from the callback's body: the worker is asked to look now (a `check`
message, without delay), and it re-checks the job with the provider itself."""

from __future__ import annotations

from collections.abc import Mapping

from atelier.data.jobs import JobRepository
from atelier.integrations.inference.base import CallbackSignatureError, InferenceProvider
from atelier.integrations.queue import MessageQueue
from atelier.observability import counting_signature_failures
from atelier.usecases.run_generation import GenerationMessage


def handle_provider_callback(
    provider_name: str,
    headers: Mapping[str, str],
    raw_body: bytes,
    query: Mapping[str, str] | None = None,
    *,
    provider: InferenceProvider,
    jobs: JobRepository,
    queue: MessageQueue,
) -> bool:
    """Answers whether a known job was prompted. Unknown jobs are acknowledged and ignored."""
    with counting_signature_failures(provider_name, CallbackSignatureError):
        provider_job_id = provider.verify_callback(headers, raw_body, query)
    found = jobs.find_by_provider_job(provider_name, provider_job_id)
    if found is None:
        return False
    account_id, job_id = found
    if query and query.get("job") not in (None, job_id):
        return False  # a token for one job naming another job's provider id
    queue.send(GenerationMessage(account_id=account_id, job_id=job_id, action="check"))
    return True
