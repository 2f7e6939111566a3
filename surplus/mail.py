"""Outgoing mail over SMTP (Flask-Mailman), in the recipient's language."""

from __future__ import annotations

import logging

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from flask_mailman import EmailMultiAlternatives, Mail

log = logging.getLogger(__name__)
mail = Mail()


def init_app(app: Flask) -> None:
    mail.init_app(app)


def send(
    to: str,
    language: str | None,
    subject: str,
    template: str,
    *,
    headers: dict[str, str] | None = None,
    **context: object,
) -> bool:
    """Render ``mail/<template>.txt`` and ``.html`` in ``language`` and send them
    (with extra ``headers``, such as List-Unsubscribe).

    Returns False (and logs) when mail is disabled or the SMTP server refuses;
    callers show the information on the page as well, so nothing is lost.
    """
    if not current_app.config.get("MAIL_ENABLED"):
        return False
    with force_locale(language or current_app.config["BABEL_DEFAULT_LOCALE"]):
        text = render_template(f"mail/{template}.txt", **context)
        html = render_template(f"mail/{template}.html", **context)
        subject = str(subject)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], headers=headers)
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except OSError as exc:
        log.warning("mail to %s failed: %s", to, exc)
        return False
    return True
