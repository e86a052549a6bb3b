"""The Mailer port on Amazon SES ``SendEmail`` from the stage's verified sender identity."""

from __future__ import annotations

from typing import Any

from chalicelib.aws.transient import describe, is_transient
from chalicelib.ports import MailRejected, MailUnavailable


class SesMailer:
    def __init__(self, client: Any, sender: str) -> None:
        """``client``: a boto3 ``ses`` client; ``sender``: the From address (QUOTE_EMAIL_SENDER),
        an SES identity itself or an address of a verified domain identity."""
        self._client = client
        self.sender = sender

    def send(self, to: str, subject: str, body: str) -> str:
        try:
            response = self._client.send_email(
                Source=self.sender,
                Destination={"ToAddresses": [to]},
                Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                         "Body": {"Text": {"Data": body, "Charset": "UTF-8"}}},
            )
        except Exception as exc:  # noqa: BLE001 - botocore errors, classified below
            if is_transient(exc):
                raise MailUnavailable(f"SES unavailable: {describe(exc)}") from None
            if getattr(exc, "response", None) is None:
                raise
            raise MailRejected(f"SES refused the message: {describe(exc)}") from None
        return str(response["MessageId"])
