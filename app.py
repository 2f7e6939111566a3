"""Maillon's application factory.

Nothing happens on import: ``flask --app app`` finds :func:`create_app`, gunicorn serves
``wsgi:app`` (or ``'app:create_app()'``), and tests call ``create_app({...})`` with their
own configuration.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from surplus import cli, errors, i18n, request_text, security, sessions
from surplus.config import INSTANCE, Config
from surplus.database import read_only_transactions, tune_engine
from surplus.extensions import csrf, db, htmx, migrate
from surplus.routing import BoundedInt


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE), instance_relative_config=False)
    app.config.from_object(Config())
    if config:
        app.config.update(config)
    app.url_map.converters["int"] = BoundedInt  # ids above 2**31 - 1 are a 404

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            tune_engine(engine)

    @app.before_request  # first of all: every later hook's queries take this mode
    def _sqlite_read_only() -> None:
        read_only_transactions(request.method in ("GET", "HEAD", "OPTIONS"))

    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    htmx.init_app(app)
    sessions.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    request_text.init_app(app)

    from surplus import api, mail, templating, throttle, views

    mail.init_app(app)
    templating.init_app(app)
    views.register(app)
    api.register(app)
    cli.register(app)
    throttle.init_app(app)  # after the blueprints: it wraps their endpoints

    if app.config.get("SCHEDULER_ENABLED"):
        from surplus import jobs

        jobs.start_background(app)
    return app
