"""The local outbox, mounted at ``/_local/outbox``: every email Atelier sent through the emulator's
SES, newest last, with the kind it carried in its ``X-Atelier-Kind`` header. Never deployed."""

from __future__ import annotations

import json
from collections.abc import Callable
from email import message_from_string, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any

from local.standins import LocalRequest, LocalResponse, LocalRoutes, StandIn
from local.template import REGION

PREFIX = "/_local/outbox"
KIND_HEADER = "X-Atelier-Kind"
EMULATED_ACCOUNT = "123456789012"


def sent_emails() -> list[dict[str, Any]]:
    """What the emulator's SES has accepted so far (moto keeps raw messages in its backend)."""
    from moto.ses.models import ses_backends

    backend = ses_backends[EMULATED_ACCOUNT][REGION]
    emails = []
    for message in list(backend.sent_messages):
        raw = getattr(message, "raw_data", None)
        if raw is None:
            continue
        parsed = message_from_string(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain",))
        date = parsed.get("Date")
        emails.append(
            {
                "to": ", ".join(dict.fromkeys(message.destinations)),
                "subject": str(parsed.get("Subject", "")),
                "kind": str(parsed.get(KIND_HEADER, "")),
                "text": body.get_content().strip() if body is not None else "",
                "sent_at": parsedate_to_datetime(date).isoformat().replace("+00:00", "Z") if date else None,
            }
        )
    return emails


# The function the template subscribes to the configuration set's bounce and complaint topic.
EMAIL_EVENTS_FUNCTION = "EmailEventsFunction"


def ses_event(kind: str, address: str) -> dict[str, Any]:
    """The SNS notification SES publishes for a permanent bounce or a complaint of `address`."""
    if kind == "bounce":
        feedback: dict[str, Any] = {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1"}],
            },
        }
    else:
        feedback = {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": address}]}}
    feedback["mail"] = {"destination": [address]}
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": json.dumps(feedback)}}]}


def outbox_routes(invoke: Callable[[str, dict[str, Any]], Any] | None = None) -> LocalRoutes:
    routes = LocalRoutes()

    def simulate(kind: str, request: LocalRequest) -> LocalResponse:
        body = request.json()
        address = body.get("to") if isinstance(body, dict) else None
        if not isinstance(address, str) or "@" not in address:
            return LocalResponse.json({"error": {"code": "bad_request", "message": 'Give {"to": address}.'}}, 400)
        if invoke is None:
            return LocalResponse.json({"error": {"code": "unavailable", "message": "No function runs here."}}, 503)
        return LocalResponse.json(invoke(EMAIL_EVENTS_FUNCTION, ses_event(kind, address)))

    @routes.post("/bounce")
    def bounce(request: LocalRequest) -> LocalResponse:
        return simulate("bounce", request)

    @routes.post("/complaint")
    def complaint(request: LocalRequest) -> LocalResponse:
        return simulate("complaint", request)

    @routes.get("/")
    def list_sent(request: LocalRequest) -> LocalResponse:
        recipient = request.query_value("to")
        emails = sent_emails()
        if recipient:
            emails = [email for email in emails if recipient.lower() in email["to"].lower()]
        return LocalResponse.json(emails)

    return routes


def outbox_stand_in(invoke: Callable[[str, dict[str, Any]], Any] | None = None) -> StandIn:
    return StandIn(
        PREFIX,
        outbox_routes(invoke),
        "emails sent so far: [{to, subject, kind, text, sent_at}]; POST /bounce or /complaint {to} as SES would",
    )
