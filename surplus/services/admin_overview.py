"""The site admins' overview of every organisation and user: search, filters, one page.

Each page is two queries, whatever its length: one counts the matches, one reads the
page's rows with their per-row figures (users, conventions) as correlated subqueries.

Search folds case and French accents on both databases ("helene" and "HÉLÈNE" both find
"Hélène", "oeuvre" finds "Œuvre"): the query is folded in Python (:func:`fold`); on
PostgreSQL the columns are folded by ``translate()`` and ``lower()`` (without the
``unaccent`` extension); SQLite's ``lower()`` only knows ASCII and its parser refuses
deep ``replace()`` chains, so there each letter of the query becomes a ``GLOB`` class of
its cases and accented forms.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from ..models import Convention, Organisation, OrgKind, Role, User, Verification

PER_PAGE = 25

# Letters of French, Dutch and German names and their bare form, lower- and upper-case.
_FOLDS = {
    "a": "àâäáãåÀÂÄÁÃÅ",
    "c": "çÇ",
    "e": "éèêëÉÈÊË",
    "i": "îïíìÎÏÍÌ",
    "n": "ñÑ",
    "o": "ôöóòõøÔÖÓÒÕØ",
    "u": "ûüùúÛÜÙÚ",
    "y": "ÿýŸÝ",
}
_ACCENTED = "".join(_FOLDS.values())
_BARE = "".join(bare * len(letters) for bare, letters in _FOLDS.items())
_LIGATURES = {"œ": "oe", "Œ": "Oe", "æ": "ae", "Æ": "Ae"}


def fold(text: str) -> str:
    """``text`` without accents or ligatures, in lower case."""
    for ligature, letters in _LIGATURES.items():
        text = text.replace(ligature, letters)
    bare = unicodedata.normalize("NFKD", text)
    return "".join(c for c in bare if not unicodedata.combining(c)).lower()


def _unligated(column: Any) -> ColumnElement:
    for ligature, letters in _LIGATURES.items():
        column = func.replace(column, ligature, letters)
    return column


def _glob(needle: str) -> str:
    """A GLOB pattern finding the folded ``needle`` anywhere, in any case and accent."""
    parts = []
    for char in needle:
        if char.isalpha():
            parts.append(f"[{char}{char.upper()}{_FOLDS.get(char, '')}]")
        elif char in "*?[":
            parts.append(f"[{char}]")
        else:
            parts.append(char)
    return "*" + "".join(parts) + "*"


def _matches(session: Session, q: str, *columns: Any) -> ColumnElement:
    """``q`` is in one of ``columns``, whatever the case and accents."""
    needle = fold(q)
    if session.get_bind().dialect.name == "sqlite":
        pattern = _glob(needle)
        return or_(*(_unligated(c).op("GLOB")(pattern) for c in columns))
    return or_(
        *(
            func.lower(func.translate(_unligated(c), _ACCENTED, _BARE)).contains(
                needle, autoescape=True
            )
            for c in columns
        )
    )


@dataclass
class Page:
    """One page of rows, and how many matched in all."""

    rows: list[Any] = field(default_factory=list)
    total: int = 0
    page: int = 1
    pages: int = 1


def _page(session: Session, query: Select, page: int, per_page: int) -> Page:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = list(session.execute(query.offset((page - 1) * per_page).limit(per_page)).all())
    return Page(rows=rows, total=total, page=page, pages=pages)


@dataclass
class OrganisationRow:
    organisation: Organisation
    users: int
    conventions: int


def organisations(
    session: Session,
    *,
    q: str = "",
    kind: OrgKind | None = None,
    verification: Verification | None = None,
    organisation_id: int | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page:
    """Organisations by name, e-mail, postcode or locality, of a kind, in a verification
    state (or the one ``organisation_id``); each with its number of users and of
    conventions (as platform or as beneficiary). Sorted by name."""
    users = (
        select(func.count(User.id))
        .where(User.organisation_id == Organisation.id)
        .correlate(Organisation)
        .scalar_subquery()
    )
    conventions = (
        select(func.count(Convention.id))
        .where(
            or_(
                Convention.platform_id == Organisation.id,
                Convention.beneficiary_id == Organisation.id,
            )
        )
        .correlate(Organisation)
        .scalar_subquery()
    )
    query = select(Organisation, users, conventions)
    if q:
        query = query.where(
            or_(
                _matches(session, q, Organisation.name, Organisation.email, Organisation.locality),
                Organisation.postcode.startswith(q.strip(), autoescape=True),
            )
        )
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    if verification is not None:
        query = query.where(Organisation.verification == verification)
    if organisation_id is not None:
        query = query.where(Organisation.id == organisation_id)
    result = _page(session, query.order_by(Organisation.name, Organisation.id), page, per_page)
    result.rows = [OrganisationRow(org, n_users, n_conv) for org, n_users, n_conv in result.rows]
    return result


def users(
    session: Session,
    *,
    q: str = "",
    role: Role | None = None,
    active: bool | None = None,
    kind: OrgKind | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page:
    """Users by name or e-mail, or by their organisation's name, postcode or locality;
    of a role, active or not, in an organisation of a kind. Each row is ``(user,
    organisation)``, sorted by name."""
    query = select(User, Organisation).join(Organisation, Organisation.id == User.organisation_id)
    if q:
        query = query.where(
            or_(
                _matches(
                    session, q, User.name, User.email, Organisation.name, Organisation.locality
                ),
                Organisation.postcode.startswith(q.strip(), autoescape=True),
            )
        )
    if role is not None:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    return _page(session, query.order_by(User.name, User.id), page, per_page)


def organisation_users(session: Session, org: Organisation) -> list[User]:
    """The users of one organisation, by name."""
    return list(
        session.scalars(select(User).where(User.organisation_id == org.id).order_by(User.name))
    )
