"""Email out through Amazon SES (v2). Messages are sent raw so they carry the `X-Atelier-Kind`
header, which lets operators (and the local outbox) tell transactional kinds apart."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from atelier import errors
from atelier.models.email import OutgoingEmail

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

KIND_HEADER = "X-Atelier-Kind"


class Mailer(Protocol):
    def send(self, message: OutgoingEmail) -> None: ...


def to_mime(message: OutgoingEmail, sender: str) -> bytes:
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">"))
    mime[KIND_HEADER] = message.kind.value
    mime.set_content(message.text)
    return mime.as_bytes()


class SuppressedAddressError(Exception):
    """The address bounced for good or complained: nothing is sent to it (it is not an outage)."""


class SuppressingMailer:
    """Sends through `mailer` unless SES reported the address (see data/suppressions.py)."""

    def __init__(self, mailer: Mailer, is_suppressed: Callable[[str], bool]):
        self._mailer = mailer
        self._is_suppressed = is_suppressed

    def send(self, message: OutgoingEmail) -> None:
        if self._is_suppressed(message.to):
            raise SuppressedAddressError()
        self._mailer.send(message)


class SesMailer:
    def __init__(self, sender: str, client: SESV2Client | None = None, *, configuration_set: str = ""):
        self._sender = sender
        self._client = client
        # Bounces and complaints of what is sent through the set reach the email-events function.
        self._configuration_set = configuration_set

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sesv2")
        return self._client

    def send(self, message: OutgoingEmail) -> None:
        try:
            self.client.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [message.to]},
                Content={"Raw": {"Data": to_mime(message, self._sender)}},
                EmailTags=[{"Name": "kind", "Value": message.kind.value}],
                **({"ConfigurationSetName": self._configuration_set} if self._configuration_set else {}),
            )
        except (BotoCoreError, ClientError) as exc:
            raise errors.DependencyUnavailableError("Email could not be sent.") from exc
