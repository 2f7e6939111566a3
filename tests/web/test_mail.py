"""Invitation mail goes over real SMTP to a local aiosmtpd server, in the right language."""

from surplus.extensions import db
from surplus.models import Role
from tests import factories
from tests.factories import translated
from tests.mailbox import parts, subject


def test_invitation_is_mailed_in_french_with_a_text_part(app, login_as, inbox):
    admin = factories.user(factories.org("cpas", name="CPAS de Bouillon"), Role.ORG_ADMIN)
    db.session.commit()
    client = login_as(admin)
    response = client.post(
        "/account/invitations", data={"email": "new@example.be", "role": "member"}
    )
    assert response.status_code == 200
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "new@example.be"
    assert "CPAS de Bouillon" in subject(message)
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    assert "/invitations/" in body["text/plain"]
    assert translated("fr", "Hello,") in body["text/plain"]
