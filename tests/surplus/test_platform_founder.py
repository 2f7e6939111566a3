"""A new platform's founder coordinates it once it is verified, and not before."""

from sqlalchemy import select

from surplus.extensions import db
from surplus.models import Event, Organisation, Role, User, Verification
from surplus.services import accounts, email_confirmation
from tests import factories

PLATFORM_PAGES = ("/platform/", "/platform/allocation/", "/organisations/pending")


def _sign_up(client, kind: str, email: str) -> User:
    response = client.post(
        "/signup",
        data={
            "org_name": f"Nouvelle {kind}",
            "kind": kind,
            "address": "Rue du Dépôt 1",
            "postcode": "6800",
            "locality": "Libramont-Chevigny",
            "enterprise_number": "",
            "afsca_number": "",
            "phone": "",
            "distribution_mode": "",
            "name": "Fondatrice",
            "email": email,
            "password": "long-enough-pass",
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    db.session.rollback()
    user = db.session.scalar(select(User).where(User.email == email))
    # The link of the confirmation mail signs the founder in.
    confirmed = client.post(f"/signup/confirm/{email_confirmation.token_for(user)}")
    assert confirmed.status_code == 302
    db.session.rollback()
    return db.session.get(User, user.id)


def _verify(app, login_as, org_id: int) -> None:
    admin = factories.user(factories.org("platform", name="Maillon"), Role.SITE_ADMIN)
    db.session.commit()
    response = login_as(admin).post(
        f"/organisations/{org_id}/verification", data={"decision": "verify"}
    )
    assert response.status_code == 200
    db.session.rollback()


def test_founder_of_a_platform_coordinates_it_once_verified(app, client, login_as):
    w = factories.world()
    newcomer = factories.org("producer", name="Ferme en attente", verified=False)
    db.session.commit()
    founder = _sign_up(client, "platform", "fondatrice@plateforme.be")
    assert founder.role == Role.ORG_ADMIN
    for path in PLATFORM_PAGES:
        assert client.get(path).status_code == 403, path
    # Nor can it name itself a coordinator before Maillon verified it.
    refused = client.post(
        "/account/invitations", data={"email": "ami@plateforme.be", "role": "coordinator"}
    )
    assert refused.status_code in (400, 422)
    assert db.session.scalar(select(User).where(User.email == "ami@plateforme.be")) is None

    _verify(app, login_as, founder.organisation_id)

    founder = db.session.get(User, founder.id)
    assert founder.organisation.verification == Verification.VERIFIED
    assert founder.role == Role.COORDINATOR and founder.is_coordinator
    promoted = db.session.scalar(
        select(Event).where(Event.subject_type == "user", Event.subject_id == founder.id)
    )
    assert promoted.action == "became_coordinator"
    assert promoted.after == {"role": "coordinator"}
    # The same session: no need to sign in again.
    for path in (*PLATFORM_PAGES, "/runs/"):
        assert client.get(path).status_code == 200, path
    assert newcomer.name in client.get("/organisations/pending").get_data(as_text=True)
    response = client.post(
        f"/organisations/{newcomer.id}/verification", data={"decision": "verify"}
    )
    assert response.status_code == 200
    db.session.rollback()
    assert db.session.get(Organisation, newcomer.id).is_verified
    assert w.platform.id != founder.organisation_id


def test_founder_of_a_donor_stays_its_administrator(app, client, login_as):
    founder = _sign_up(client, "producer", "fondateur@ferme.be")
    _verify(app, login_as, founder.organisation_id)
    founder = db.session.get(User, founder.id)
    assert founder.organisation.is_verified
    assert founder.role == Role.ORG_ADMIN and not founder.is_coordinator
    for path in PLATFORM_PAGES:
        assert client.get(path).status_code == 403, path


def test_verification_promotes_only_active_administrators(app):
    platform = factories.org("platform", verified=False)
    founder = factories.user(platform, Role.ORG_ADMIN)
    member = factories.user(platform, Role.MEMBER)
    gone = factories.user(platform, Role.ORG_ADMIN)
    gone.active = False
    admin = factories.user(factories.org("platform"), Role.SITE_ADMIN)
    db.session.flush()
    accounts.verify(db.session, admin, platform, accept=True)
    assert (founder.role, member.role, gone.role) == (
        Role.COORDINATOR,
        Role.MEMBER,
        Role.ORG_ADMIN,
    )


def test_refused_platform_gets_no_coordinator(app):
    platform = factories.org("platform", verified=False)
    founder = factories.user(platform, Role.ORG_ADMIN)
    admin = factories.user(factories.org("platform"), Role.SITE_ADMIN)
    accounts.verify(db.session, admin, platform, accept=False)
    assert founder.role == Role.ORG_ADMIN and not founder.is_coordinator
