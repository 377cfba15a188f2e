"""Email out through Amazon SES (v2). Messages are sent raw so they carry the `X-Atelier-Kind`
header, which lets operators (and the local outbox) tell transactional kinds apart."""

from __future__ import annotations

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


class SesMailer:
    def __init__(self, sender: str, client: SESV2Client | None = None):
        self._sender = sender
        self._client = client

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
            )
        except (BotoCoreError, ClientError) as exc:
            raise errors.DependencyUnavailableError("Email could not be sent.") from exc
