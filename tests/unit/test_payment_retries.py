"""Payment providers' calls through the shared retry policy, against the payments sandbox behind a
network that fails the first calls as a provider in trouble does (503, 429 with Retry-After): a
call carrying the provider's idempotency key is made again, one without is made once."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from atelier import errors
from atelier.integrations.resilience import CircuitOpenError
from tests.support.payments import PaymentsNetwork, checkout_request


@pytest.fixture
def network() -> PaymentsNetwork:
    return PaymentsNetwork()


class Troubled:
    """Answers `status` to the first `failures` requests, then lets them through to the sandbox."""

    def __init__(self, network: PaymentsNetwork, failures: int, status: int = 503, retry_after: str | None = None):
        self.network = network
        self.failures = failures
        self.status = status
        self.retry_after = retry_after
        self.seen: list[tuple[str, str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path, request.headers.get("paypal-request-id")))
        if self.failures > 0:
            self.failures -= 1
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return httpx.Response(self.status, json={"error": "busy"}, headers=headers)
        return self.network.handle(request)


def test_a_paypal_order_is_created_again_with_the_same_request_id_after_a_503(network, provider_retries_never_wait):
    # Given PayPal answering 503 to the order's first attempt (after a token was issued)
    troubled = Troubled(network, failures=0)
    paypal = network.paypal(troubled)
    paypal.create_checkout(checkout_request(checkout_id="chk_warm"))  # the token, and one order
    troubled.failures = 1
    # When a checkout is created
    created = paypal.create_checkout(checkout_request(checkout_id="chk_retry"))
    # Then the order was asked for twice, with one PayPal-Request-Id, after one wait, and exists once
    orders = [entry for entry in troubled.seen if entry[1].endswith("/v2/checkout/orders")]
    assert [request_id for _, _, request_id in orders[-2:]] == ["checkout-chk_retry", "checkout-chk_retry"]
    assert len(provider_retries_never_wait) == 1
    assert created.provider_checkout_id


def test_paypal_s_retry_after_is_honoured(network, provider_retries_never_wait):
    # Given PayPal rate-limiting the first call (the token request) for 3 seconds
    troubled = Troubled(network, failures=1, status=429, retry_after="3")
    # When a checkout is created, then it goes through after waiting at least the 3 seconds asked for
    assert network.paypal(troubled).create_checkout(checkout_request()).url
    assert provider_retries_never_wait[0] >= 3


def test_a_creem_checkout_is_not_repeated_after_a_503(network, provider_retries_never_wait):
    # Given Creem answering 503 once: Creem documents no idempotency key for its writes
    troubled = Troubled(network, failures=1)
    # When a checkout is created, then it fails at once, asked once, for the buyer to try again
    with pytest.raises(errors.DependencyUnavailableError):
        network.creem(troubled).create_checkout(checkout_request())
    assert len(troubled.seen) == 1
    assert provider_retries_never_wait == []


@pytest.mark.parametrize("provider", ["paypal", "creem"])
def test_a_payment_provider_that_stays_down_is_left_alone_by_its_breaker(network, provider):
    # Given a provider answering 503 to everything
    troubled = Troubled(network, failures=1000)
    build: Callable[..., object] = getattr(network, provider)
    client = build(troubled)
    # When checkouts keep being attempted
    for _ in range(5):
        with pytest.raises(errors.DependencyUnavailableError):
            client.create_checkout(checkout_request())  # type: ignore[attr-defined]
    calls = len(troubled.seen)
    # Then the breaker opens: the next attempts fail at once without calling the provider
    for _ in range(3):
        with pytest.raises(CircuitOpenError):
            client.create_checkout(checkout_request())  # type: ignore[attr-defined]
    assert len(troubled.seen) == calls
