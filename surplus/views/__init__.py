"""HTML blueprints: parse the request, call a service, render a page or an htmx fragment."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from . import account, auth, claims, lots, main, market, organisations

    for module in (auth, main, account, organisations, lots, market, claims):
        app.register_blueprint(module.bp)
