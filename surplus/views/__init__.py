"""HTML blueprints: parse the request, call a service, render a page or an htmx fragment."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from . import (
        account,
        admin,
        agreements,
        allocation,
        area,
        auth,
        claims,
        conventions,
        depots,
        donations,
        fleet,
        fse_register,
        jobs,
        lot_map,
        lots,
        main,
        market,
        mfa,
        notifications,
        organisations,
        password,
        platform,
        privacy,
        recalls,
        reports,
        runs,
        security,
        signup,  # noqa: F401  (routes on the auth blueprint)
        trace,
    )

    for module in (
        auth,
        main,
        account,
        organisations,
        admin,
        lots,
        market,
        lot_map,
        claims,
        conventions,
        platform,
        agreements,
        area,
        allocation,
        runs,
        fleet,
        jobs,
        notifications,
        trace,
        recalls,
        reports,
        fse_register,
        donations,
        depots,
        security,
        password,
        mfa,
        privacy,
    ):
        app.register_blueprint(module.bp)
