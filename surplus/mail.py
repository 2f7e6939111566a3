"""Outgoing mail over SMTP (Flask-Mailman), in the recipient's language."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import Flask, current_app, render_template
from flask_babel import force_locale
from flask_mailman import EmailMultiAlternatives, Mail

log = logging.getLogger(__name__)
mail = Mail()
# Mails that must not change how long an answer takes (sign-up, password reset: the
# answer is the same whether an account exists, so is its timing).
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mail")
_pending: set[Future] = set()
_pending_lock = threading.Lock()


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


def send_soon(
    to: str, language: str | None, subject: str, template: str, **context: object
) -> None:
    """:func:`send` on a worker thread, after the answer: the request takes as long
    whether a mail goes or not. ``context`` must be plain values (links built by the
    caller), since the worker has no request."""
    if not current_app.config.get("MAIL_ENABLED"):
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def job() -> bool:
        with app.app_context():
            return send(to, language, subject, template, **context)

    future = _pool.submit(job)
    with _pending_lock:
        _pending.add(future)
    future.add_done_callback(_forget)


def _forget(future: Future) -> None:
    with _pending_lock:
        _pending.discard(future)


def drain(timeout: float = 10) -> None:
    """Wait for the mails of :func:`send_soon` under way (tests, shutdown)."""
    with _pending_lock:
        futures = set(_pending)
    wait(futures, timeout=timeout)
