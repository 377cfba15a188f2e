"""Over real HTTP: the local outbox simulates what SES reports, and a bounced address gets no more
email while other addresses still do."""

from __future__ import annotations

import httpx

from local.runtime import LocalRuntime
from tests.support.client import signed_in


def _outbox(stack: LocalRuntime, to: str) -> list[dict]:
    return httpx.get(f"{stack.api_url}/_local/outbox", params={"to": to}).json()


def test_a_bounced_address_gets_no_more_email_but_a_new_address_still_does(stack: LocalRuntime):
    # Given a signed-in account whose address SES reports as permanently bouncing
    client = signed_in(stack.api_url, "hedy@example.com")
    reported = httpx.post(f"{stack.api_url}/_local/outbox/bounce", json={"to": "hedy@example.com"})
    assert reported.status_code == 200, reported.text
    assert reported.json() == {"suppressed": 1}
    # When it changes its address (which tells the old address, and sends a link to the new one)
    answer = client.request("PATCH", "/v1/me", json={"email": "hedy.lamarr@example.org"})
    # Then the change is made, nothing goes to the bounced address, and the new one gets its link
    assert answer.status_code == 200, answer.text
    assert not [mail for mail in _outbox(stack, "hedy@example.com") if "hedy.lamarr@example.org" in mail["text"]]
    assert _outbox(stack, "hedy.lamarr@example.org")


def test_a_simulated_bounce_needs_an_address(stack: LocalRuntime):
    answer = httpx.post(f"{stack.api_url}/_local/outbox/bounce", json={"address": "nobody"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_request"
