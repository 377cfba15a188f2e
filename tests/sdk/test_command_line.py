"""The `atelier` command's own rules, without an API: how it reads parameters, names its files, and
answers a model that is not on offer or an API that cannot be reached."""

from __future__ import annotations

import importlib
from pathlib import Path

import httpx
import pytest

from tests.support.sdk import load

sdk = load()
cli = importlib.import_module(f"{sdk.__name__}.cli")


def test_parameters_are_read_as_the_types_they_look_like():
    assert cli._params(["steps=30", "guidance=7.5", "hdr=true", "style=film=noir"]) == {
        "steps": 30,
        "guidance": 7.5,
        "hdr": True,
        "style": "film=noir",
    }
    with pytest.raises(sdk.ConfigurationError, match="NAME=VALUE"):
        cli._params(["steps"])


def test_the_first_output_takes_the_given_name_and_the_others_are_numbered():
    assert cli._output_paths("out.png", 3, ["ast_1", "ast_2", "ast_3"]) == [
        Path("out.png"),
        Path("out-2.png"),
        Path("out-3.png"),
    ]
    assert cli._output_paths(None, 2, ["ast_1", "ast_2"]) == [Path("ast_1"), Path("ast_2")]


def test_a_model_not_on_offer_is_named_with_those_that_are(monkeypatch, capsys):
    offered = {"id": "local-image", "kind": "image", "provider": "local", "name": "Local", "price_credits": {}}
    models = {"items": [offered | {"params": {}, "max_reference_images": 0}]}
    monkeypatch.setenv("ATELIER_API_KEY", "key_test")
    real_client = httpx.Client
    monkeypatch.setattr(
        sdk._transport.httpx,
        "Client",
        lambda **options: real_client(transport=httpx.MockTransport(lambda _: httpx.Response(200, json=models))),
    )

    status = cli.main(["--base-url", "https://api.test", "generate", "a lighthouse", "--model", "dall-e"])

    assert status == cli.EXIT_USAGE
    assert "no model 'dall-e'; on offer: local-image" in capsys.readouterr().err


def test_an_unreachable_api_is_reported_in_a_sentence_with_the_address(monkeypatch, capsys):
    monkeypatch.setenv("ATELIER_API_KEY", "key_test")
    monkeypatch.setattr(sdk._transport, "backoff", lambda attempt: 0.0)
    status = cli.main(["--base-url", "http://127.0.0.1:9", "jobs"])
    assert status == cli.EXIT_API_ERROR
    assert "Could not reach http://127.0.0.1:9" in capsys.readouterr().err
