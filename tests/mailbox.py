"""What a real SMTP server for tests keeps, and helpers to read it. The server is the
``inbox`` fixture of ``tests/conftest.py``: aiosmtpd on a free local port.

aiosmtpd's handler stores a message before the server answers the end of DATA, so the
message is in ``inbox.messages`` as soon as the sender's ``send`` returns."""

from __future__ import annotations

from email.header import decode_header, make_header
from email.message import Message as EmailMessage

from aiosmtpd.handlers import Message


class Inbox(Message):
    """An aiosmtpd handler keeping every message it receives in ``messages``."""

    def __init__(self):
        super().__init__()
        self.messages: list[EmailMessage] = []

    def handle_message(self, message):
        self.messages.append(message)


def subject(message: EmailMessage) -> str:
    return str(make_header(decode_header(message["Subject"])))


def header(message: EmailMessage, name: str) -> str:
    """A header's value unfolded (long ones, such as List-Unsubscribe, are folded)."""
    return "".join(str(message[name]).splitlines()).strip()


def parts(message: EmailMessage) -> dict[str, str]:
    """The decoded body of each non-multipart part, by content type."""
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }
