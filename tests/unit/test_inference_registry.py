"""The registry builds each adapter once, only when asked, from the settings; secrets named as SSM
parameters are read when first needed, never at build time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from atelier.integrations import secrets
from atelier.integrations.inference.base import ProviderError, ProviderRejectedError
from atelier.integrations.inference.local import LocalProvider
from atelier.integrations.inference.modelark import ModelArkProvider
from atelier.integrations.inference.openai_images import OpenAIImagesProvider
from atelier.integrations.inference.registry import PROVIDER_NAMES, forget_providers, provider_for
from atelier.integrations.inference.replicate import ReplicateProvider
from atelier.integrations.inference.runpod import RunPodProvider
from atelier.settings import Settings
from tests.support.inference import request


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    forget_providers()
    yield
    forget_providers()


@pytest.mark.parametrize(
    ("name", "adapter"),
    [
        ("local", LocalProvider),
        ("openai", OpenAIImagesProvider),
        ("modelark", ModelArkProvider),
        ("runpod", RunPodProvider),
        ("replicate", ReplicateProvider),
    ],
)
def test_each_provider_name_builds_its_adapter_once(name, adapter):
    settings = Settings()
    built = provider_for(name, settings)
    assert isinstance(built, adapter)
    assert built.name == name
    assert provider_for(name, settings) is built
    assert name in PROVIDER_NAMES


def test_new_settings_build_a_new_adapter():
    assert provider_for("openai", Settings()) is not provider_for("openai", Settings())


def test_an_unknown_provider_is_refused():
    with pytest.raises(ProviderRejectedError):
        provider_for("midjourney", Settings())


def test_settings_without_the_inference_fields_still_build_adapters_that_say_they_are_unconfigured():
    # Given today's Settings, which have no provider keys yet
    adapter = provider_for("replicate", Settings())
    # Then a call is a broken dependency (retry once configured), never a refused job
    with pytest.raises(ProviderError) as raised:
        adapter.submit(request("image", model="owner/model"))
    assert not isinstance(raised.value, ProviderRejectedError)


def test_a_key_named_as_a_parameter_is_read_from_ssm_when_first_needed(monkeypatch):
    # Given a key given as an SSM parameter name, and SSM answering for it
    reads: list[str] = []

    def get_secret(name: str) -> str:
        reads.append(name)
        raise RuntimeError("SSM is unreachable")

    monkeypatch.setattr(secrets, "get_secret", get_secret)
    settings = Settings(openai_api_key_parameter="/atelier/openai/api-key")
    # When the adapter is built, nothing is read
    adapter = provider_for("openai", settings)
    assert reads == []
    # When it is used, the parameter is read, and SSM failing is a broken dependency
    with pytest.raises(ProviderError):
        adapter.submit(request("image", model="gpt-image-1"))
    assert reads == ["/atelier/openai/api-key"]
