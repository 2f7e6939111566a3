"""Throttling (Flask-Limiter): attempts per network and per account on sign-in, the
two-step code, password reset, sign-up and API tokens; claims per user and per network.

Each application gets its own :class:`Limiter` (tests build many applications). Its
storage is ``RATELIMIT_STORAGE_URI``: Redis shared by every worker
(``redis://127.0.0.1:6379/0``), memory otherwise; ``RATELIMIT_KEY_PREFIX`` lets several
installations share one Redis; ``RATELIMIT_ENABLED=0`` turns it off.

Limits are wrapped around the endpoints after the blueprints are registered, so the
views stay unaware of them. The account key is the e-mail address typed, lower-cased
and hashed (no address sits in Redis): an address that exists and one that does not
are counted, refused and answered alike. Sign-in and the two-step code count failed
attempts only (a 4xx answer), so a user who signs in many times is never stopped;
sign-up and reset count the requests that passed the form (each sends a mail); claims
those that reached the rules.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g, jsonify, render_template, request, session
from flask.wrappers import Response
from flask_babel import ngettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_login import current_user
from limits import RateLimitItemPerMinute
from sqlalchemy import func, select

from .extensions import db, htmx

EXTENSION = "maillon_limiter"

# Defaults of the limits (each a config key; any Flask-Limiter string, "10 per 15 minutes").
LIMITS = {
    "RATELIMIT_SIGN_IN_PER_ACCOUNT": "10 per 15 minutes",  # failed sign-ins and token requests
    "RATELIMIT_SIGN_IN_PER_NETWORK": "30 per 15 minutes",
    "RATELIMIT_MFA_PER_NETWORK": "30 per 15 minutes",  # wrong two-step codes
    "RATELIMIT_MFA_PER_ACCOUNT": "10 per 15 minutes",
    "RATELIMIT_RESET_PER_ACCOUNT": "5 per hour",  # password reset requests (well-formed)
    "RATELIMIT_RESET_PER_NETWORK": "20 per hour",
    "RATELIMIT_SIGN_UP_PER_ACCOUNT": "5 per hour",  # sign-ups that passed the form (a mail)
    "RATELIMIT_SIGN_UP_PER_NETWORK": "20 per hour",
    "RATELIMIT_CLAIMS_PER_USER": "60 per minute",  # claim, cancel, book (not bad input)
    "RATELIMIT_CLAIMS_PER_NETWORK": "300 per minute",
}

# A throttled client is written in the security log once per count and this long.
LOG_ONCE_PER = RateLimitItemPerMinute(1, 15)


# -- keys -------------------------------------------------------------------------------


def network_key() -> str:
    """The client's network: its IPv4 address, or the /64 of an IPv6 address (one
    subscriber's usual allocation)."""
    try:
        ip = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return "unknown"
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)


def typed_email() -> str:
    """The e-mail address of the form or JSON body, lower-cased; "" when there is none."""
    value = request.form.get("email")
    if value is None and request.is_json:
        body = request.get_json(silent=True)
        value = body.get("email") if isinstance(body, dict) else None
    return value.strip().lower() if isinstance(value, str) else ""


def account_key() -> str:
    # Key functions must never raise (Flask-Limiter would take its storage for dead):
    # a lone surrogate typed is hashed as it came.
    typed = typed_email().encode("utf-8", "surrogatepass")
    return "account:" + hashlib.sha256(typed).hexdigest()[:32]


def user_key() -> str:
    """The signed-in user (web), or the owner of the bearer token (API); "" if neither."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    if "throttle_user_key" not in g:
        g.throttle_user_key = ""
        scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and secret.strip():
            from .models import ApiToken

            digest = hashlib.sha256(secret.strip().encode("utf-8", "surrogatepass")).hexdigest()
            user_id = db.session.scalar(
                select(ApiToken.user_id).where(ApiToken.token_hash == digest)
            )
            g.throttle_user_key = f"user:{user_id}" if user_id is not None else ""
    return g.throttle_user_key


def pending_user_key() -> str:
    """The user between the password and the two-step code (views/auth.py keeps them
    in the session), "" if none."""
    pending = session.get("mfa_pending")
    user_id = pending.get("user") if isinstance(pending, dict) else None
    return f"user:{user_id}" if isinstance(user_id, int) else ""


def _failed(response: Response) -> bool:
    """A refused attempt: wrong credentials or code (401, 422), bad input (400)."""
    return 400 <= response.status_code < 500 and response.status_code != 429


def _accepted(response: Response) -> bool:
    """A request that did the work (a mail, an account): fields refused cost nothing."""
    return response.status_code < 400


def _not_bad_input(response: Response) -> bool:
    """A claim that reached the rules (done, refused, raced); not one refused for its
    fields, which costs nothing."""
    return response.status_code not in (400, 422, 429)


# -- wiring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One count: its limit (a config key), what it counts by, and when."""

    config: str
    by: str  # "network", "account", "user": a part of the count's name
    key: Callable[[], str]
    deduct_when: Callable[[Response], bool] | None = None  # None: every request counts
    methods: tuple[str, ...] | None = ("POST",)


def _network(config: str, **kw) -> Rule:
    return Rule(config, "network", network_key, **kw)


def _account(config: str, **kw) -> Rule:
    return Rule(config, "account", account_key, **kw)


# Each group: its name, its endpoints (one count shared by them; those this application
# does not have are skipped) and its counts.
GROUPS: tuple[tuple[str, tuple[str, ...], tuple[Rule, ...]], ...] = (
    (
        "sign-in",
        ("auth.login", "api_tokens.token_create"),
        (
            _network("RATELIMIT_SIGN_IN_PER_NETWORK", deduct_when=_failed),
            _account("RATELIMIT_SIGN_IN_PER_ACCOUNT", deduct_when=_failed),
        ),
    ),
    (
        "mfa",
        ("auth.login_mfa",),
        (
            _network("RATELIMIT_MFA_PER_NETWORK", deduct_when=_failed),
            Rule("RATELIMIT_MFA_PER_ACCOUNT", "account", pending_user_key, _failed),
        ),
    ),
    (
        "reset",
        ("password.forgot", "api_password.password_forgot"),
        (
            _network("RATELIMIT_RESET_PER_NETWORK", deduct_when=_accepted),
            _account("RATELIMIT_RESET_PER_ACCOUNT", deduct_when=_accepted),
        ),
    ),
    (
        "sign-up",
        ("auth.signup",),
        (
            _network("RATELIMIT_SIGN_UP_PER_NETWORK", deduct_when=_accepted),
            _account("RATELIMIT_SIGN_UP_PER_ACCOUNT", deduct_when=_accepted),
        ),
    ),
    (
        "claims",
        (
            "market.lot_claim",
            "claims.claim_cancel",
            "claims.claim_book",
            "api_lots.claim_create",
            "api_lots.claim_cancel",
            "api_runs.claim_book",
        ),
        (
            _network("RATELIMIT_CLAIMS_PER_NETWORK", deduct_when=_not_bad_input, methods=None),
            Rule("RATELIMIT_CLAIMS_PER_USER", "user", user_key, _not_bad_input, methods=None),
        ),
    ),
)


def _config(name: str) -> Callable[[], str]:
    return lambda: current_app.config[name]


def _keyless(rule: Rule) -> Callable[[], bool]:
    """A count without its key (no address typed, nobody signed in) is skipped: the
    form refuses the request anyway, and the network's count still applies."""
    return lambda: not rule.key()


def init_app(app: Flask) -> None:
    """Create the application's limiter and wrap the endpoints; call it after the
    blueprints are registered."""
    for name, value in LIMITS.items():
        app.config.setdefault(name, value)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "maillon")
    app.config.setdefault("RATELIMIT_STRATEGY", "fixed-window")
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    # Redis unreachable: count in this worker's memory rather than answer 500.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.register_error_handler(RateLimitExceeded, _throttled)
    if not app.config.setdefault("RATELIMIT_ENABLED", True):
        return
    # Registered before the limiter's own hook, so it runs after it (Flask runs them in
    # reverse): the header says the seconds the body says.
    app.after_request(_same_retry_after)
    limiter = Limiter(key_func=network_key)
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    for group, endpoints, rules in GROUPS:
        for endpoint in endpoints:
            view = app.view_functions.get(endpoint)
            if view is None:
                continue
            for rule in rules:
                view = limiter.shared_limit(
                    _config(rule.config),
                    scope=f"{group}:{rule.by}",
                    key_func=rule.key,
                    exempt_when=None if rule.by == "network" else _keyless(rule),
                    deduct_when=rule.deduct_when,
                    methods=list(rule.methods) if rule.methods else None,
                )(view)
            app.view_functions[endpoint] = view


def limiter_for(app: Flask) -> Limiter | None:
    """The application's limiter (None when throttling is off)."""
    return app.extensions.get(EXTENSION)


def wired(app: Flask) -> list[str]:
    """The endpoints of this application that are throttled."""
    names = [endpoint for _group, endpoints, _rules in GROUPS for endpoint in endpoints]
    return [endpoint for endpoint in names if endpoint in app.view_functions]


# -- the answer -------------------------------------------------------------------------


def _retry_after(limiter: Limiter | None) -> int:
    """Seconds until the breached count starts again (at least 1, at most its window)."""
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 60
    left = math.ceil(current.window[0] - time.time())
    return max(1, min(left, current.limit.get_expiry()))


def wait_text(seconds: int) -> str:
    """When to come back, in minutes (in seconds under a minute)."""
    if seconds < 60:
        return ngettext(
            "Too many attempts. Please try again in %(num)d second.",
            "Too many attempts. Please try again in %(num)d seconds.",
            seconds,
        )
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "Too many attempts. Please try again in %(num)d minute.",
        "Too many attempts. Please try again in %(num)d minutes.",
        minutes,
    )


def _same_retry_after(response: Response) -> Response:
    seconds = g.pop("throttle_retry_after", None)
    if seconds is not None and response.status_code == 429:
        response.headers["Retry-After"] = str(seconds)
    return response


def _log(limiter: Limiter | None) -> None:
    """THROTTLED in the security log, once per breached count and quarter of an hour
    (a flood of refused requests does not flood the log), with the user when known:
    the one signed in, else the owner of the address typed."""
    from .models import SecurityEventKind, User
    from .services import security_log

    current = limiter.current_limit if limiter is not None else None
    try:
        if current is not None and not limiter.limiter.hit(
            LOG_ONCE_PER, "throttle-log", current.key
        ):
            return
        user = current_user._get_current_object() if current_user.is_authenticated else None
        email = typed_email()
        if user is None and email:
            user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        detail = f"{request.endpoint or request.path} {current.limit if current else ''}"
        security_log.record(db.session, SecurityEventKind.THROTTLED, user, detail.strip())
        db.session.commit()
    except Exception:  # the log must never turn a 429 into a 500
        db.session.rollback()
        current_app.logger.exception("could not log a throttled request")


def _throttled(error: RateLimitExceeded):
    """429 with Retry-After: JSON ``{"message", "code", "retry_after"}`` for the API and
    htmx; the sign-in or sign-up form again (entries kept) or a page otherwise."""
    limiter = limiter_for(current_app)
    seconds = g.throttle_retry_after = _retry_after(limiter)
    message = wait_text(seconds)
    _log(limiter)
    if request.path.startswith("/api/") or htmx:
        from .errors import json_error

        # The API's error shape (json_error) with the three keys every 429 carries.
        body = json_error(429, message)[0].get_json()
        body.update(message=message, code="too_many_requests", retry_after=seconds)
        response = jsonify(body)
    else:
        response = Response(_page(message), mimetype="text/html")
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    return response


def _page(message: str) -> str:
    from .forms import LoginForm, SignUpForm

    if request.endpoint in ("auth.login", "auth.signup"):
        form = LoginForm() if request.endpoint == "auth.login" else SignUpForm()
        form.form_errors.append(message)
        template = "auth/login.html" if request.endpoint == "auth.login" else "auth/signup.html"
        return render_template(template, form=form)
    return render_template("throttled.html", message=message)
