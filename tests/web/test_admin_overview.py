"""The site admins' overview of organisations and users: search, filters, pages, access."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from surplus.extensions import db
from surplus.models import Role
from surplus.services import admin_overview
from tests import factories
from tests.factories import translated


@pytest.fixture
def o(app):
    """The factories' world, a site admin, and a few names with accents."""
    w = factories.world()
    w.admin = factories.user(factories.org("platform", name="Maillon"), Role.SITE_ADMIN)
    w.grocery = factories.org(
        "association", name="Épicerie Sociale Œuvre", postcode="4000", locality="Liège"
    )
    w.helene = factories.user(w.grocery, Role.MEMBER, email="h.dupre@epicerie.be")
    w.helene.name = "Hélène Dupré"
    w.pending = factories.org("producer", name="Ferme à vérifier", verified=False)
    w.gone = factories.user(w.pending, Role.MEMBER, email="parti@ferme.be")
    w.gone.active = False
    db.session.commit()
    return w


def _rows(html: str, prefix: str) -> int:
    return html.count(f'<tr id="{prefix}-')


def test_search_folds_case_and_accents(o, login_as):
    client = login_as(o.admin)
    for q in ("helene", "HÉLÈNE", "dupre", "H.DUPRE@", "oeuvre"):
        html = client.get("/admin/users", query_string={"q": q}).get_data(as_text=True)
        assert f'id="user-{o.helene.id}"' in html, q
        assert _rows(html, "user") == 1, q
    for q in ("epicerie sociale", "ÉPICERIE", "liege", "4000"):
        html = client.get("/admin/organisations", query_string={"q": q}).get_data(as_text=True)
        assert f'id="org-{o.grocery.id}"' in html, q
        assert _rows(html, "org") == 1, q
    namur = client.get("/admin/organisations?q=namur").get_data(as_text=True)
    assert f'id="org-{o.other_platform.id}"' in namur and f'id="org-{o.other_donor.id}"' in namur
    assert _rows(namur, "org") == 2
    # LIKE's wildcards are searched for as such.
    assert _rows(client.get("/admin/users?q=%25").get_data(as_text=True), "user") == 0


def test_filters(o, login_as):
    client = login_as(o.admin)
    platforms = client.get("/admin/organisations?kind=platform").get_data(as_text=True)
    assert _rows(platforms, "org") == 3  # two platforms and the admins' own
    pending = client.get("/admin/organisations?verification=pending").get_data(as_text=True)
    assert _rows(pending, "org") == 1 and f'id="org-{o.pending.id}"' in pending
    coordinators = client.get("/admin/users?role=coordinator").get_data(as_text=True)
    assert _rows(coordinators, "user") == 2
    assert f'id="user-{o.coordinator.id}"' in coordinators
    off = client.get("/admin/users?active=inactive").get_data(as_text=True)
    assert _rows(off, "user") == 1 and f'id="user-{o.gone.id}"' in off
    on = client.get("/admin/users?active=active&kind=cpas").get_data(as_text=True)
    assert _rows(on, "user") == 1 and f'id="user-{o.cpas_user.id}"' in on


def test_rows_carry_their_counts_and_link_to_the_organisation(o, login_as):
    client = login_as(o.admin)
    html = client.get(f"/admin/organisations?q={o.platform.name}").get_data(as_text=True)
    assert f'href="/organisations/{o.platform.id}"' in html
    row = admin_overview.organisations(db.session, organisation_id=o.platform.id).rows[0]
    assert (row.users, row.conventions) == (1, 2)
    show = client.get(f"/organisations/{o.grocery.id}").get_data(as_text=True)
    assert "h.dupre@epicerie.be" in show


def test_pages_in_sql(o, login_as):
    for n in range(27):
        factories.org("shop", name=f"Magasin {n:02d}")
    db.session.commit()
    client = login_as(o.admin)
    first = client.get("/admin/organisations?q=magasin").get_data(as_text=True)
    assert _rows(first, "org") == admin_overview.PER_PAGE
    assert "?q=magasin&amp;page=2" in first
    second = client.get("/admin/organisations?q=magasin&page=2").get_data(as_text=True)
    assert _rows(second, "org") == 27 - admin_overview.PER_PAGE
    beyond = client.get("/admin/organisations?q=magasin&page=99").get_data(as_text=True)
    assert _rows(beyond, "org") == 27 - admin_overview.PER_PAGE, "the last page"


@contextmanager
def _counting():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_two_queries_per_page_whatever_its_length(o):
    for _ in range(8):
        factories.user(o.grocery, Role.MEMBER)
    db.session.commit()
    for service in (admin_overview.organisations, admin_overview.users):
        with _counting() as statements:
            page = service(db.session, per_page=20)
            assert len(page.rows) > 5
            for row in page.rows:  # rows are read, not loaded one by one
                org = row.organisation if hasattr(row, "organisation") else row[1]
                assert org.name
        assert len(statements) == 2, statements


def test_only_site_admins(o, login_as):
    clients = [login_as(person) for person in (o.coordinator, o.cpas_user, o.donor_user)]
    admin = login_as(o.admin)
    for path in ("/admin/organisations", "/admin/users"):
        for client in clients:
            assert client.get(path).status_code == 403, path
        assert admin.get(path).status_code == 200, path


BAD = [
    "/admin/organisations?kind=spaceship",
    "/admin/organisations?verification=maybe",
    "/admin/organisations?page=0",
    "/admin/organisations?page=abc",
    "/admin/organisations?page=1e9",
    "/admin/organisations?q=" + "x" * 101,
    "/admin/organisations?q=%00",
    "/admin/users?role=king",
    "/admin/users?active=maybe",
    "/admin/users?kind=cpas&page=-1",
]


def test_bad_input_is_400_never_500(o, login_as):
    client = login_as(o.admin)
    message = translated("fr", "Check the search filters.")
    for url in BAD:
        response = client.get(url, headers={"Accept-Language": "fr"})
        assert response.status_code == 400, url
        assert message in response.get_data(as_text=True), url
        fragment = client.get(url, headers={"HX-Request": "true"})
        assert fragment.status_code == 422, url
        assert "<html" not in fragment.get_data(as_text=True), url


def test_make_run_banner_names_the_demo_accounts(app):
    """`make run` prints where to go and the demo sign-ins (flask demo seed --hello)."""
    team = factories.org("platform", name="Maillon — équipe du site")
    factories.user(team, Role.SITE_ADMIN, email="admin@demo.maillon.be")
    factories.user(factories.org("cpas"), Role.ORG_ADMIN, email="cpas@demo.maillon.be")
    factories.user(factories.org("shop"), Role.MEMBER, email="someone-12@demo.maillon.be")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["demo", "hello", "--url", "http://h:1"])
    assert result.exit_code == 0, result.output
    assert "http://h:1" in result.output and "maillon-demo" in result.output
    assert "admin@demo.maillon.be" in result.output and "site_admin" in result.output
    assert "cpas@demo.maillon.be" in result.output
    assert "someone-12@" not in result.output
