"""The lot list's cards, rendered once and kept while the lots they show do not change.

A card is a function of the lot (the data's version, :mod:`surplus.services.list_cache`),
of what the list says of it for this organisation (distance, urgency, kilograms already
held) and of the page's language and timezone. The cards a page lacks are rendered
together by ``lots/_cards.html``; what is personal to a request, the CSRF token and each
form's idempotency key, is left there as a marker and written in per request. The
markers are raw HTML comments: escaped text (a lot's title) can never contain them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from flask import render_template
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy.orm import Session

from ..services import list_cache
from ..services.browse import Card, Page, load_lots
from ..templating import page_locale

CSRF = Markup("<!--maillon:csrf-->")
KEY = Markup("<!--maillon:key-->")
END = Markup("<!--maillon:end-->")


@dataclass
class _Rendering:
    """What ``lots/_cards.html`` reads of the page: the cards to render."""

    cards: list[Card] = field(default_factory=list)
    urgent_km: float = 0.0


def cards(session: Session, page: Page, held: dict[int, float]) -> list[Markup]:
    """The page's cards, in order, ready for this request."""
    locale, tz = page_locale()
    keys = [
        (card.lot_id, locale, tz, f"{card.km:.0f}", card.urgent, held.get(card.lot_id))
        for card in page.cards
    ]
    by_key = {key: card for key, card in zip(keys, page.cards, strict=True)}

    def render(missing: list[tuple]) -> dict[tuple, str]:
        lots = load_lots(session, [key[0] for key in missing])
        shown = [by_key[key] for key in missing]
        for card in shown:
            card.lot = lots[card.lot_id]
        html = render_template(
            "lots/_cards.html",
            page=_Rendering(shown, page.urgent_km),
            held=held,
            csrf=CSRF,
            key=KEY,
            end=END,
        )
        parts = html.split(END)[: len(missing)]
        return {key: part.strip() for key, part in zip(missing, parts, strict=True)}

    kept = list_cache.cache().many("cards", page.version, keys, render)
    token = generate_csrf()
    return [
        Markup(html.replace(CSRF, token).replace(KEY, str(secrets.randbelow(10**12))))
        for html in kept
    ]
