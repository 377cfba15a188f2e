"""What the web studio needs of the API over real HTTP: credentialed CORS for the studios listed in
`WebOrigins` (and nothing for any other origin), public media from cacheable URLs, and the share
page's HTML with its link-preview tags."""

from __future__ import annotations

import httpx
import pytest

from tests.support.client import ApiClient, signed_in
from tests.support.stack import running_stack

STUDIO = "https://studio.elsewhere.test"
OTHER = "https://evil.example.test"


@pytest.fixture(scope="module")
def stack():
    with running_stack(parameters={"WebOrigins": f"{STUDIO},https://second.elsewhere.test"}) as runtime:
        yield runtime


def preflight(stack, path: str, origin: str, method: str = "POST") -> httpx.Response:
    return httpx.options(
        f"{stack.api_url}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type, idempotency-key, x-workspace-id",
        },
        timeout=30,
    )


def test_a_listed_studio_origin_gets_a_credentialed_preflight_answer(stack):
    # Given a studio on an origin listed in WebOrigins
    # When its browser sends the preflight of a job submission
    response = preflight(stack, "/v1/jobs", STUDIO)
    # Then the answer names that exact origin, allows credentials and the headers the API reads
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == STUDIO
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = {name.strip().lower() for name in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-workspace-id", "cancel-after"} <= allowed
    assert "Origin" in response.headers["vary"]


def test_a_preflight_of_a_path_with_parameters_is_answered_too(stack):
    # Given the second listed origin
    # When it asks before deleting an asset (a path with a parameter, served by another function)
    response = preflight(stack, "/v1/assets/ast_123", "https://second.elsewhere.test", method="DELETE")
    # Then it is answered for that origin
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://second.elsewhere.test"


def test_an_origin_not_listed_gets_no_cors_headers(stack):
    # Given an origin nobody listed
    # When it sends a preflight and a simple request
    asked = preflight(stack, "/v1/jobs", OTHER)
    answered = httpx.get(f"{stack.api_url}/v1/gallery", headers={"Origin": OTHER}, timeout=30)
    # Then neither answer allows it, so the browser keeps both from the page
    for response in (asked, answered):
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers
        assert "Origin" in response.headers["vary"]
    assert answered.status_code == 200


def test_a_listed_origin_reads_a_signed_in_answer_with_credentials(stack):
    # Given a person signed in, calling from the listed studio
    client = signed_in(stack.api_url, "cors-reader@example.com")
    # When the studio reads the account with the session cookie
    response = client.get("/v1/me", headers={"Origin": STUDIO})
    # Then the answer is readable there: that origin, credentials allowed
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == STUDIO
    assert response.headers["access-control-allow-credentials"] == "true"


def test_errors_carry_the_cors_headers_so_the_studio_can_read_them(stack):
    # Given the listed studio, signed out
    anonymous = ApiClient(stack.api_url)
    # When it calls a route that needs a session
    response = anonymous.get("/v1/me", headers={"Origin": STUDIO})
    # Then the 401 is readable by the studio (it can show "sign in")
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == STUDIO
    anonymous.close()
