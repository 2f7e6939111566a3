"""HTML blueprints: parse the request, call a service, render a page or an htmx fragment."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from . import (
        account,
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
        lots,
        main,
        market,
        notifications,
        organisations,
        platform,
        recalls,
        reports,
        runs,
        trace,
    )

    for module in (
        auth,
        main,
        account,
        organisations,
        lots,
        market,
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
    ):
        app.register_blueprint(module.bp)
