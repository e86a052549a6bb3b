"""The Mailer port under ``make run``: each message one RFC 5322 ``.eml`` file in
``.local/outbox/``; ``make outbox`` lists them (newest last) with the links they carry."""

from __future__ import annotations

import email.policy
import email.utils
import os
import re
import time
import uuid
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

_LINK = re.compile(r"https?://\S+")


class OutboxMailer:
    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    def send(self, to: str, subject: str, body: str) -> str:
        message = EmailMessage()
        message_id = email.utils.make_msgid(domain="outbox.local")
        message["Message-ID"] = message_id
        message["Date"] = email.utils.formatdate(localtime=False)
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}.eml"
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(message.as_bytes(policy=email.policy.SMTP))
        os.replace(temporary, self.directory / name)  # readers never see half a message
        return message_id


def read_outbox(directory: Path) -> list[dict[str, str]]:
    """Every message in the outbox, oldest first: file, date, to, subject, body, links."""
    found = []
    for path in sorted(directory.glob("*.eml")):
        message = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        found.append({"file": path.name, "date": str(message["Date"]), "to": str(message["To"]),
                      "subject": str(message["Subject"]), "body": text, "links": " ".join(_LINK.findall(text))})
    return found


def main() -> None:
    """``python -m localdev.outbox``: list the local outbox."""
    from chalicelib.settings import get_settings

    directory = get_settings().local_data_dir / "outbox"
    messages = read_outbox(directory)
    for m in messages:
        print(f"{m['file']}  to {m['to']}  {m['subject']}\n    {m['links']}")
    print(f"{len(messages)} message(s) in {directory}")


if __name__ == "__main__":
    main()
