"""`make dev` (`python -m local`) is configured the way a deployment is: the template's parameters
come from PARAMETER_OVERRIDES in the syntax of `sam deploy --parameter-overrides`, unknown names
are refused with the template's parameters listed, and providers in OidcProviders sit beside the
local OpenID Connect issuers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from local.oidc import LOCAL_PROVIDER, USERINFO_ONLY_PROVIDER, configured_providers, oidc_stand_ins
from local.runtime import PROJECT_ROOT
from local.template import TemplateError, parse_parameter_overrides
from tests.support.client import signed_in

PARTNER = {"issuer": "https://login.partner.example", "client_id": "atelier", "client_secret": "s3cret+/="}


def test_overrides_are_read_as_sam_deploy_reads_them() -> None:
    text = (
        "AdminEmails=me@example.com MinimumAge=18 "
        f"OidcProviders='{json.dumps({'partner': PARTNER})}' "
        'CheckoutSuccessUrl="https://studio.example/billing?done=1" '
        "ParameterKey=LogLevel,ParameterValue=DEBUG"
    )
    assert parse_parameter_overrides(text) == {
        "AdminEmails": "me@example.com",
        "MinimumAge": "18",
        "OidcProviders": json.dumps({"partner": PARTNER}),
        "CheckoutSuccessUrl": "https://studio.example/billing?done=1",
        "LogLevel": "DEBUG",
    }
    assert parse_parameter_overrides("") == {}


@pytest.mark.parametrize("text", ["AdminEmails", "=x", "Admin-Emails=x", "A=1 A=2", "OidcProviders='{unclosed"])
def test_overrides_that_cannot_be_read_are_refused(text: str) -> None:
    with pytest.raises(TemplateError):
        parse_parameter_overrides(text)


def test_configured_providers_sit_beside_the_local_issuers() -> None:
    # Given a configured provider
    local_oidc = oidc_stand_ins(json.dumps({"partner": PARTNER}))[0]
    assert local_oidc.environment is not None
    # When the local issuer points the functions' settings at itself
    environment = local_oidc.environment("http://127.0.0.1:3000")
    # Then the configured provider is still there, and sign-in defaults to the local issuer
    providers = json.loads(environment["OIDC_PROVIDERS"])
    assert set(providers) == {"partner", LOCAL_PROVIDER, USERINFO_ONLY_PROVIDER}
    assert providers["partner"] == PARTNER
    assert environment["OIDC_DEFAULT_PROVIDER"] == LOCAL_PROVIDER


@pytest.mark.parametrize("value", ["[1]", "not json", json.dumps({"local": PARTNER}), json.dumps({"x": 1})])
def test_provider_settings_that_cannot_be_used_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="OidcProviders"):
        configured_providers(value)


def _python_m_local(overrides: str, port: int) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1", "PARAMETER_OVERRIDES": overrides}
    return subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unknown_parameter_name_stops_python_m_local_with_the_template_parameters_listed() -> None:
    process = _python_m_local("AdminEmail=me@example.com", _free_port())
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    message = output.decode()
    assert "AdminEmail" in message
    assert "AdminEmails" in message
    assert "MinimumAge" in message
    assert "OidcProviders" in message


def test_python_m_local_takes_the_parameters_so_a_person_can_be_a_moderator_locally() -> None:
    # Given `python -m local` started with an admin address, a minimum age and another provider
    port = _free_port()
    overrides = f"AdminEmails=moderator@example.com MinimumAge=18 OidcProviders='{json.dumps({'partner': PARTNER})}'"
    process = _python_m_local(overrides, port)
    api = f"http://127.0.0.1:{port}"
    try:
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"{api}/v1/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None
        assert health.status_code == 200
        # When the admin signs in with the local issuer
        moderator = signed_in(api, "moderator@example.com")
        # Then the admin routes answer, and the template's parameters hold
        assert moderator.get("/v1/admin/reports").status_code == 200
        assert httpx.get(f"{api}/v1/policies/terms").json()["minimum_age"] == 18
        # And the configured provider is offered beside the local one (its discovery is its own)
        partner = httpx.get(f"{api}/v1/auth/login", params={"provider": "partner"})
        assert partner.status_code == 503
        assert httpx.get(f"{api}/v1/auth/login", params={"provider": "nobody"}).status_code == 422
        moderator.close()
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    # And the banner says which parameters were given, without the providers' secrets
    banner = output.decode()
    assert "AdminEmails=moderator@example.com" in banner
    assert "OidcProviders=(partner)" in banner
    assert PARTNER["client_secret"] not in banner
    assert "PARAMETER_OVERRIDES" in banner


def test_a_value_the_template_does_not_allow_is_refused() -> None:
    from local.template import Template

    with pytest.raises(TemplateError, match="MinimumAge"):
        Template.load(PROJECT_ROOT / "template.yaml", {"MinimumAge": "17"})
    with pytest.raises(TemplateError, match="its parameters are"):
        Template.load(PROJECT_ROOT / "template.yaml", {"AdminEmail": "me@example.com"})
    resolved = Template.load(PROJECT_ROOT / "template.yaml", {"AdminEmails": "me@example.com", "MinimumAge": "18"})
    assert resolved.parameters["AdminEmails"] == "me@example.com"
