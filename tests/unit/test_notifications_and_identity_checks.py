"""What the identity provider says is checked before it is stored (one mailbox, no control
characters, bounded names), and an email that cannot be built or sent never fails the action it
reports: it is logged and counted in one place, `send_email`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atelier import errors, tokens
from atelier.clock import SystemClock
from atelier.integrations.oidc import ProviderTokens
from atelier.models.accounts import Account, Identity, SignInState, Workspace
from atelier.models.email import EmailKind, OutgoingEmail, SentEmail, clean_display_name, deliverable_address
from atelier.observability import metrics
from atelier.settings import Settings
from atelier.usecases.complete_sign_in import CompleteSignInDeps, complete_sign_in
from atelier.usecases.send_email import send_email


class _States:
    def consume(self, state_hash: str) -> SignInState | None:
        return SignInState(
            state_hash=state_hash,
            browser_binding_hash=tokens.hash_token("binding-1"),
            nonce="n-1",
            code_verifier="v-1",
            provider="generic",
            redirect_to="/",
            expires_at=datetime.now(UTC) + timedelta(minutes=5),
        )


class _Provider:
    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    def check_response_issuer(self, _issuer: str | None) -> None:
        return None

    def exchange_code(self, **_: Any) -> ProviderTokens:
        return ProviderTokens("id-token", "access-token")

    def identify(self, _tokens: ProviderTokens, *, nonce: str) -> Identity:
        return self.identity


class _Accounts:
    def __init__(self) -> None:
        self.created: list[Account] = []

    def find_by_identity(self, issuer: str, subject: str) -> None:
        return None

    def create(self, account: Account, workspace: Workspace) -> None:
        self.created.append(account)


class _Sessions:
    def create(self, *_: Any) -> None:
        return None


def _sign_in(email: str, name: str = "") -> _Accounts:
    accounts = _Accounts()
    identity = Identity(issuer="https://idp.example", subject="s-1", email=email, email_verified=True, name=name)
    complete_sign_in(
        CompleteSignInDeps(
            provider_for=lambda _name: _Provider(identity),
            states=_States(),
            accounts=accounts,
            sessions=_Sessions(),
            clock=SystemClock(),
            settings=Settings(),
        ),
        code="code-1",
        state="state-1",
        provider_error=None,
        browser_binding="binding-1",
        callback_url="https://api.example/v1/auth/callback",
    )
    return accounts


@pytest.mark.parametrize(
    "email",
    [
        "a@x.example, victim@y.example",
        "a@x.example;victim@y.example",
        "a@x.example\r\nBcc: victim@y.example",
        "a@x.example\n",
        "Ada <a@x.example>",
        "a b@x.example",
        "a@x@y.example",
        "\x00a@x.example",
        "ada@exämple.example",
        f"{'a' * 64}@{'b' * 185}.example",
        "",
    ],
)
def test_a_provider_address_that_is_not_one_sane_mailbox_refuses_sign_in(email: str) -> None:
    with pytest.raises(errors.SignInFailedError, match="email address"):
        _sign_in(email)


def test_a_good_address_is_stored_trimmed_and_a_name_without_control_characters() -> None:
    # Given a provider that pads the address and puts a header into the name
    accounts = _sign_in(" ada@example.com ", name="Ada\r\nBcc: victim@example.org\x00" + "x" * 300)
    # Then
    account = accounts.created[0]
    assert account.email == "ada@example.com"
    assert account.name.startswith("Ada Bcc: victim@example.org x")
    assert not any(ord(character) < 32 or ord(character) == 127 for character in account.name)
    assert len(account.name) == 100


def test_a_name_of_control_characters_only_falls_back_to_the_address() -> None:
    assert _sign_in("grace@example.com", name="\r\n\t").created[0].name == "grace"


def test_the_address_and_name_rules() -> None:
    assert deliverable_address("  a.b+c@sub.example.org ") == "a.b+c@sub.example.org"
    assert deliverable_address("a@b") is None
    assert clean_display_name("  Ada \u2028 Lovelace\x7f ") == "Ada Lovelace"


class _FailingMailer:
    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    def send(self, message: OutgoingEmail) -> None:
        raise self.failure


class _SentEmails:
    def __init__(self) -> None:
        self.recorded: list[SentEmail] = []

    def record(self, sent: SentEmail) -> None:
        self.recorded.append(sent)


@pytest.mark.parametrize(
    "failure",
    [
        ValueError("Header values may not contain linefeed or carriage return characters"),
        errors.DependencyUnavailableError("Email could not be sent."),
        RuntimeError("anything else"),
    ],
)
def test_an_email_that_cannot_be_built_or_sent_is_counted_and_never_raises(failure: Exception) -> None:
    # Given a mailer that fails
    account = Account(
        id="acct_1",
        email="ada@example.com",
        name="Ada",
        identity_issuer="https://idp.example",
        identity_subject="s-1",
        created_at=datetime.now(UTC),
        default_workspace_id="ws_1",
        ledger_id="ldg_1",
    )
    sent_emails = _SentEmails()
    metrics.clear_metrics()
    # When
    sent = send_email(
        account,
        EmailKind.SECURITY,
        "subject",
        "text",
        mailer=_FailingMailer(failure),
        sent_emails=sent_emails,  # type: ignore[arg-type]
        clock=SystemClock(),
    )
    # Then the caller carries on, nothing is recorded as sent, and the failure is counted
    assert sent is False
    assert sent_emails.recorded == []
    assert metrics.metric_set["EmailsNotSent"]["Value"] == [1.0]
    metrics.clear_metrics()
