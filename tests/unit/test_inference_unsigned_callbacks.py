"""RunPod and ModelArk call back when a job ends but sign nothing: their callback URL carries our
job and a token keyed with our API key at that provider. Only a callback to that URL names a job;
a callback without the token, with another job's token or with an altered one is refused."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from atelier.integrations.inference.base import CallbackSignatureError
from tests.support.inference import RUNPOD_ENDPOINT, Delivery, ProviderNetwork, request

CALLBACK_BASE = "https://atelier.test/v1/webhooks/providers"


@pytest.fixture
def network() -> ProviderNetwork:
    return ProviderNetwork()


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def run_with_callback(network: ProviderNetwork, provider: str) -> tuple[str, Delivery]:
    """Submits a job asking for a callback, runs it to its end; answers its provider job id and the
    one callback the stand-in sent."""
    adapter = getattr(network, provider)()
    model = RUNPOD_ENDPOINT if provider == "runpod" else "seedance-1-0-pro-250528"
    job = adapter.submit(request("video", model=model, callback_url=f"{CALLBACK_BASE}/{provider}"))
    finished = network.run_to_end(adapter, job)
    (sent,) = network.deliveries
    return finished.provider_job_id, sent


@pytest.mark.parametrize("provider", ["runpod", "modelark"])
def test_a_finished_job_calls_back_and_the_callback_names_it(network, provider):
    # Given a job submitted with a callback URL, run to its end
    provider_job_id, sent = run_with_callback(network, provider)
    # Then exactly one callback went to our URL, for our job, and it verifies to the provider's job id
    assert sent.url.startswith(f"{CALLBACK_BASE}/{provider}?")
    query = query_of(sent.url)
    assert query["job"] == "job_001"
    adapter = getattr(network, provider)()
    assert adapter.verify_callback(sent.headers, sent.body, query) == provider_job_id


@pytest.mark.parametrize("provider", ["runpod", "modelark"])
def test_a_callback_without_the_right_token_is_refused(network, provider):
    # Given a genuine callback
    _, sent = run_with_callback(network, provider)
    adapter = getattr(network, provider)()
    query = query_of(sent.url)
    forgeries = {
        "no query": None,
        "no token": {name: value for name, value in query.items() if name != "token"},
        "another job": query | {"job": "job_002"},
        "altered token": query | {"token": "0" * 32},
    }
    # When it comes without its token, or with a token for another job, then it is refused
    for forged in forgeries.values():
        with pytest.raises(CallbackSignatureError):
            adapter.verify_callback(sent.headers, sent.body, forged)


@pytest.mark.parametrize("provider", ["runpod", "modelark"])
def test_a_job_submitted_without_a_callback_url_asks_for_none(network, provider):
    # Given a job submitted without a callback URL
    adapter = getattr(network, provider)()
    model = RUNPOD_ENDPOINT if provider == "runpod" else "seedance-1-0-pro-250528"
    network.run_to_end(adapter, adapter.submit(request("video", model=model)))
    # Then the submit asked for no callback and none was sent
    sent = json.loads(network.stand_in(provider).requests[0][3])
    assert "webhook" not in sent
    assert "callback_url" not in sent
    assert network.deliveries == []


def test_a_runpod_callback_naming_no_endpoint_is_refused(network):
    # Given a genuine RunPod callback whose endpoint was taken out of the URL
    _, sent = run_with_callback(network, "runpod")
    query = {name: value for name, value in query_of(sent.url).items() if name != "endpoint"}
    # Then it cannot name a job
    with pytest.raises(CallbackSignatureError):
        network.runpod().verify_callback(sent.headers, sent.body, query)
