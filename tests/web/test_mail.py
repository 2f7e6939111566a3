"""Invitation mail goes over real SMTP to a local aiosmtpd server, in the right language."""

import socket
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from surplus.extensions import db
from surplus.mail import mail
from surplus.models import Role
from tests import factories
from tests.factories import translated


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


@pytest.fixture
def smtp_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def test_invitation_is_mailed_in_french_with_a_text_part(app, login_as, smtp_server):
    port, inbox = smtp_server
    app.config.update(MAIL_ENABLED=True, MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                      MAIL_USE_TLS=False, MAIL_USE_SSL=False, MAIL_BACKEND="smtp")
    mail.init_app(app)  # Flask-Mailman reads its settings at initialisation
    admin = factories.user(factories.org("cpas", name="CPAS de Bouillon"), Role.ORG_ADMIN)
    db.session.commit()
    client = login_as(admin)
    response = client.post("/account/invitations", data={"email": "new@example.be",
                                                          "role": "member"})
    assert response.status_code == 200
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "new@example.be"
    assert "CPAS de Bouillon" in str(make_header(decode_header(message["Subject"])))
    parts = {part.get_content_type(): part.get_payload(decode=True).decode()
             for part in message.walk() if not part.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "/invitations/" in parts["text/plain"]
    assert translated("fr", "Hello,") in parts["text/plain"]
