"""SES bounces and complaints suppress an address: nothing is sent to it again, and the suppression
goes with the account when it is purged."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from atelier.integrations.email import SuppressingMailer
from atelier.models.email import EmailKind, OutgoingEmail
from atelier.services import get_services
from atelier.usecases.send_email import send_email
from functions.email_events import handler
from local.functions import LambdaContext
from tests.integration.test_privacy_helpers import AFTER_THE_DEADLINE, create_account, purger, schedule, unique
from tests.support.metrics import named


@dataclass
class KeptMail:
    sent: list[OutgoingEmail] = field(default_factory=list)

    def send(self, message: OutgoingEmail) -> None:
        self.sent.append(message)


def sns_event(feedback: dict) -> dict:
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": json.dumps(feedback)}}]}


def bounce(address: str, bounce_type: str = "Permanent") -> dict:
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address, "status": "5.1.1"}],
        },
        "mail": {"destination": [address]},
    }


def complaint(address: str) -> dict:
    return {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": address}]}}


def receive(feedback: dict) -> dict:
    context = LambdaContext(
        function_name="atelier-local-email-events",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:atelier-local-email-events",
        memory_limit_in_mb=256,
        aws_request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        log_group_name="/aws/lambda/atelier-local-email-events",
        log_stream_name="stream",
        deadline=time.monotonic() + 10,
    )
    return handler.lambda_handler(sns_event(feedback), context)


def test_a_permanent_bounce_suppresses_the_address_and_nothing_more_is_sent_to_it(stack, capsys):
    # Given an account whose address SES reports as permanently bouncing (in another case)
    services = get_services()
    account = create_account()
    assert receive(bounce(account.email.upper())) == {"suppressed": 1}
    # When an email is sent to it
    kept = KeptMail()
    mailer = SuppressingMailer(kept, services.suppressions.is_suppressed)
    sent = send_email(
        account,
        EmailKind.BILLING,
        "Receipt",
        "Text",
        mailer=mailer,
        sent_emails=services.sent_emails,
        clock=services.clock,
    )
    # Then nothing goes out, and the skipped send is counted
    assert sent is False
    assert kept.sent == []
    out = capsys.readouterr().out
    assert [m.dimensions["kind"] for m in named(out, "EmailsSuppressed")] == ["billing"]
    assert [m.dimensions["permanent"] for m in named(out, "EmailsBounced")] == ["true"]
    # And the address itself is not what is stored
    assert account.email not in out


def test_a_complaint_suppresses_the_address(stack):
    address = f"{unique('complainer')}@example.com"
    assert receive(complaint(address)) == {"suppressed": 1}
    assert get_services().suppressions.is_suppressed(address)


def test_a_transient_bounce_is_counted_but_suppresses_nothing(stack, capsys):
    address = f"{unique('fullbox')}@example.com"
    assert receive(bounce(address, "Transient")) == {"suppressed": 0}
    assert not get_services().suppressions.is_suppressed(address)
    assert [m.dimensions["permanent"] for m in named(capsys.readouterr().out, "EmailsBounced")] == ["false"]


def test_other_addresses_still_get_their_email(stack):
    services = get_services()
    account = create_account()
    receive(bounce(f"{unique('someone-else')}@example.com"))
    kept = KeptMail()
    mailer = SuppressingMailer(kept, services.suppressions.is_suppressed)
    assert send_email(
        account,
        EmailKind.BILLING,
        "Receipt",
        "Text",
        mailer=mailer,
        sent_emails=services.sent_emails,
        clock=services.clock,
    )
    assert [message.to for message in kept.sent] == [account.email]


def test_the_suppression_of_an_address_is_purged_with_its_account(stack):
    # Given an account whose address was suppressed, due for purge
    services = get_services()
    account = create_account()
    receive(complaint(account.email))
    schedule(account)
    # When the purge runs
    purger(clock=AFTER_THE_DEADLINE).run_due()
    # Then the suppression is gone with it
    assert not services.suppressions.is_suppressed(account.email)
