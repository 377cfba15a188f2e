"""Logs never hold a token, key, email or raw address (P3), checked on what a journey logged."""

from tests.support.client import ApiClient
from tests.support.logs import captured_logs


def test_a_sign_in_and_key_journey_logs_no_secret_or_personal_data(stack):
    # Given a journey that handles every kind of secret
    with captured_logs() as logs:
        client = ApiClient(stack.api_url)
        client.sign_in("private.person@example.com")
        key = client.post("/v1/me/api-keys", json={"name": "secret-holder"}).json()["key"]
        ApiClient(stack.api_url, api_key=key).get("/v1/me")
        session = client.cookies["__Host-session"]
        client.post("/v1/auth/logout")
    # When we read everything logged
    logged = logs.getvalue()
    # Then the request lines are there, and nothing secret or personal is
    assert logged.count('"message":"request"') >= 5
    for secret in (key, session, "private.person@example.com", "127.0.0.1"):
        assert secret not in logged
    assert '"client_network":"127.0.0.0"' in logged
