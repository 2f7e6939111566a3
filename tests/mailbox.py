"""A real SMTP server for tests: aiosmtpd on a free local port, keeping what arrives.

aiosmtpd's handler stores a message before the server answers the end of DATA, so the
message is in ``inbox.messages`` as soon as the sender's ``send`` returns."""

from __future__ import annotations

import socket
from email.header import decode_header, make_header
from email.message import Message as EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from surplus.mail import mail


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages: list[EmailMessage] = []

    def handle_message(self, message):
        self.messages.append(message)


@pytest.fixture
def inbox(app):
    """Start aiosmtpd and point the app's mail at it (MAIL_ENABLED on)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_ENABLED=True, MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                      MAIL_USE_TLS=False, MAIL_USE_SSL=False, MAIL_BACKEND="smtp")
    mail.init_app(app)  # Flask-Mailman reads its settings at initialisation
    yield box
    controller.stop()


def subject(message: EmailMessage) -> str:
    return str(make_header(decode_header(message["Subject"])))


def header(message: EmailMessage, name: str) -> str:
    """A header's value unfolded (long ones, such as List-Unsubscribe, are folded)."""
    return "".join(str(message[name]).splitlines()).strip()


def parts(message: EmailMessage) -> dict[str, str]:
    """The decoded body of each non-multipart part, by content type."""
    return {part.get_content_type(): part.get_payload(decode=True).decode()
            for part in message.walk() if not part.is_multipart()}
