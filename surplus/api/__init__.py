"""The JSON API under /api/v1, documented by flask-smorest at /api/v1/openapi.json."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from ..extensions import csrf
from ..routing import BoundedInt


class MaillonApi(Api):
    """flask-smorest's Api, leaving error responses to :mod:`surplus.errors`
    (``{"error": ..., "fields": ...}`` for the API, pages elsewhere)."""

    def _register_error_handlers(self) -> None:
        pass

    from ..schemas.answers import ErrorSchema as ERROR_SCHEMA  # noqa: N811  (flask-smorest's hook)


api = MaillonApi(
    spec_kwargs={
        "info": {"description": "Maillon: surplus food for Walloon food aid."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
)


def register(app: Flask) -> None:
    from . import (
        agreements,
        conventions,
        depots,
        donations,
        fse_register,
        lots,
        me,
        organisations,
        password,
        privacy,
        recalls,
        reports,
        runs,
        tokens,
        trace,
    )

    api.init_app(app)
    api.register_converter(
        BoundedInt, lambda c: {"type": "integer", "minimum": c.min, "maximum": c.max}
    )
    for module in (
        tokens,
        password,
        me,
        privacy,
        organisations,
        lots,
        conventions,
        runs,
        agreements,
        trace,
        recalls,
        reports,
        fse_register,
        donations,
        depots,
    ):
        csrf.exempt(module.blp)  # bearer tokens, never cookies
        api.register_blueprint(module.blp)
