"""Email addresses over real HTTP: the identity provider's address is checked at sign-in, a new
address takes effect only once confirmed from the link sent to it (and the old one is told), and
an action that has committed is never failed by the email that reports it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from atelier import errors
from atelier.services import get_services
from atelier.settings import Settings
from atelier.usecases.change_email import ConfirmEmailChangeDeps, EmailConfirmationInvalidError, confirm_email_change
from local.runtime import LocalRuntime
from tests.support.client import ApiClient, signed_in


def _outbox(stack: LocalRuntime, to: str) -> list[dict]:
    mails = httpx.get(f"{stack.api_url}/_local/outbox", params={"to": to}).json()
    return [mail for mail in mails if mail["to"].lower() == to.lower()]


def _confirmation_token(stack: LocalRuntime, to: str) -> str:
    """The token of the newest confirmation link sent to `to`, as the web page would read it."""
    links = [
        link
        for mail in _outbox(stack, to)
        for link in re.findall(r"https?://\S+/settings/email\?token=\S+", mail["text"])
    ]
    assert links, f"no confirmation link was sent to {to}"
    return parse_qs(urlsplit(links[-1]).query)["token"][0]


@pytest.mark.parametrize(
    "address",
    ["a@x.example, victim@y.example", "a@x.example\r\nBcc: victim@y.example", "Ada <a@x.example>", "a@x@y.example"],
)
def test_a_provider_address_that_is_not_one_mailbox_refuses_sign_in(stack: LocalRuntime, address: str):
    # Given an identity provider that vouches for an address holding several mailboxes or a header
    client = ApiClient(stack.api_url)
    approved = client.begin_sign_in(address)
    assert approved.status_code == 302, approved.text
    # When the callback arrives
    answer = client.follow(approved.headers["location"])
    # Then sign-in is refused and no account or session exists
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "sign_in_failed"
    assert client.get("/v1/me").status_code == 401


def test_a_new_address_takes_effect_only_once_confirmed_and_the_old_one_is_told(stack: LocalRuntime):
    # Given a signed-in account
    client = signed_in(stack.api_url, "rosalind@example.com")
    # When it asks for a new address
    answer = client.request("PATCH", "/v1/me", json={"email": "rosalind.franklin@example.org"})
    # Then the address in use does not change yet, and the new one is shown as pending
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == "rosalind@example.com"
    assert answer.json()["pending_email"] == "rosalind.franklin@example.org"
    assert client.get("/v1/me").json()["pending_email"] == "rosalind.franklin@example.org"
    # And the old address is told, the new one gets a link to the web page that confirms it
    assert any("rosalind.franklin@example.org" in mail["text"] for mail in _outbox(stack, "rosalind@example.com"))
    token = _confirmation_token(stack, "rosalind.franklin@example.org")

    # When the web page posts the link's token
    confirmed = client.post("/v1/me/email-confirmations", json={"token": token})
    # Then the new address is the account's, and nothing is pending
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == "rosalind.franklin@example.org"
    me = client.get("/v1/me").json()
    assert me["email"] == "rosalind.franklin@example.org"
    assert me["pending_email"] is None
    # And the old address hears that the change happened
    assert any(
        mail["subject"] == "Your Atelier email address was changed" for mail in _outbox(stack, "rosalind@example.com")
    )

    # When the same link is used again, then it is refused
    again = client.post("/v1/me/email-confirmations", json={"token": token})
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "email_confirmation_invalid"
    client.close()


def test_a_confirmation_token_works_only_for_its_own_account_and_only_the_newest(stack: LocalRuntime):
    # Given an account that asked for two addresses in turn, and another account
    owner = signed_in(stack.api_url, "marie@example.com")
    other = signed_in(stack.api_url, "pierre@example.com")
    assert owner.request("PATCH", "/v1/me", json={"email": "first@example.org"}).status_code == 200
    first = _confirmation_token(stack, "first@example.org")
    assert owner.request("PATCH", "/v1/me", json={"email": "second@example.org"}).status_code == 200
    second = _confirmation_token(stack, "second@example.org")
    # When another account posts the owner's token, or the owner posts the replaced one or a made-up one
    answers = [
        other.post("/v1/me/email-confirmations", json={"token": second}),
        owner.post("/v1/me/email-confirmations", json={"token": first}),
        owner.post("/v1/me/email-confirmations", json={"token": "made-up"}),
    ]
    # Then each is refused and both addresses stay as they were
    assert [answer.status_code for answer in answers] == [422, 422, 422]
    assert other.get("/v1/me").json()["email"] == "pierre@example.com"
    me = owner.get("/v1/me").json()
    assert (me["email"], me["pending_email"]) == ("marie@example.com", "second@example.org")
    # And asking for the current address again drops the pending change
    assert owner.request("PATCH", "/v1/me", json={"email": "marie@example.com"}).json()["pending_email"] is None
    assert owner.post("/v1/me/email-confirmations", json={"token": second}).status_code == 422
    owner.close()
    other.close()


def test_confirming_needs_a_session(anonymous: ApiClient):
    assert anonymous.post("/v1/me/email-confirmations", json={"token": "x"}).status_code == 401


@dataclass(frozen=True)
class _Clock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


def test_an_expired_link_and_an_address_that_became_an_admins_are_refused(stack: LocalRuntime):
    # Given an account with a pending change of address
    client = signed_in(stack.api_url, "lise@example.com")
    account_id = client.get("/v1/me").json()["id"]
    assert client.request("PATCH", "/v1/me", json={"email": "lise.meitner@example.org"}).status_code == 200
    token = _confirmation_token(stack, "lise.meitner@example.org")
    services = get_services()

    def confirm(settings: Settings, clock: _Clock) -> None:
        confirm_email_change(
            ConfirmEmailChangeDeps(
                accounts=services.accounts,
                email_changes=services.email_changes,
                mailer=services.mailer,
                sent_emails=services.sent_emails,
                clock=clock,
                settings=settings,
            ),
            account_id,
            token,
        )

    # When it is confirmed after the link expired, or after the new address joined the admin list
    later = _Clock(datetime.now(UTC) + timedelta(seconds=services.settings.account_limits.email_change_seconds + 60))
    with pytest.raises(EmailConfirmationInvalidError):
        confirm(services.settings, later)
    admin_settings = services.settings.replace(admin_emails=["lise.meitner@example.org"])
    with pytest.raises(errors.ForbiddenError, match="cannot be used"):
        confirm(admin_settings, _Clock(datetime.now(UTC)))
    # Then both are refused, the address stays, and the link still works for the right person in time
    assert client.get("/v1/me").json()["email"] == "lise@example.com"
    assert (
        client.post("/v1/me/email-confirmations", json={"token": token}).json()["email"] == "lise.meitner@example.org"
    )
    client.close()


def test_an_api_key_is_shown_even_when_the_security_email_cannot_be_built(stack: LocalRuntime):
    # Given an account whose stored address the mail library refuses (stored before addresses were checked)
    client = signed_in(stack.api_url, "legacy@example.com")
    account_id = client.get("/v1/me").json()["id"]
    get_services().accounts.update_profile(
        account_id, name=None, email="legacy@example.com\r\nBcc: victim@example.org", preferences=None
    )
    # When it creates an API key
    created = client.post("/v1/me/api-keys", json={"name": "script"})
    # Then the key is shown, and it works
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {key}"}) as script:
        assert script.get("/v1/me").json()["id"] == account_id
    client.close()


def test_requests_for_new_addresses_are_limited_and_a_refused_one_changes_nothing(stack: LocalRuntime):
    # Given an account that has asked for as many new addresses as the hour allows
    client = signed_in(stack.api_url, "emmy@example.com")
    limit = get_services().settings.account_limits.email_change_limit
    for attempt in range(limit):
        assert client.request("PATCH", "/v1/me", json={"email": f"emmy{attempt}@example.org"}).status_code == 200
    # When it asks once more, renaming itself in the same request
    refused = client.request("PATCH", "/v1/me", json={"email": "emmy.noether@example.org", "name": "Emmy N"})
    # Then it is refused, nothing changes and no link goes to the address
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    me = client.get("/v1/me").json()
    assert (me["name"], me["pending_email"]) == ("Emmy", f"emmy{limit - 1}@example.org")
    assert _outbox(stack, "emmy.noether@example.org") == []
    client.close()


def test_a_pending_change_of_address_is_purged_with_the_account(stack: LocalRuntime):
    from tests.integration.test_privacy_helpers import AFTER_THE_DEADLINE, purger, schedule, sweep_everything

    # Given an account with a change of address waiting for confirmation, whose deletion is due
    client = signed_in(stack.api_url, "chien-shiung@example.com")
    account_id = client.get("/v1/me").json()["id"]
    pending = client.request("PATCH", "/v1/me", json={"email": "chien-shiung.wu@example.org"})
    assert pending.json()["pending_email"] == "chien-shiung.wu@example.org"
    services = get_services()
    schedule(services.accounts.require(account_id))
    # When the purge runs after the countdown
    assert purger(clock=AFTER_THE_DEADLINE).run_due()["purged"] >= 1
    # Then neither address nor the change is stored anywhere
    assert services.email_changes.pending(account_id) is None
    assert sweep_everything(stack.emulator_url, ["chien-shiung.wu@example.org", "chien-shiung@example.com"]) == []
    client.close()
