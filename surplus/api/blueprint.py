"""The API's blueprint class: input that its schema refuses is a 400, as documented,
and a body that is not JSON says so in the caller's language."""

from __future__ import annotations

from typing import Any, NoReturn

import flask_smorest
from flask_babel import gettext as _
from webargs.flaskparser import FlaskParser, abort

from ..schemas.base import JsonBody
from .auth import authenticate


class _Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400

    def load_json(self, req: Any, schema: Any) -> Any:
        try:
            data = super().load_json(req, schema)
        except (ValueError, RecursionError) as error:
            # An integer beyond Python's 4,300 digits, or nesting beyond its stack:
            # not JSON we can read either.
            self._handle_invalid_json_error(error, req)
        return JsonBody(data) if isinstance(data, dict) else data

    def _handle_invalid_json_error(
        self, error: Exception, req: Any, *args: Any, **kwargs: Any
    ) -> NoReturn:
        abort(400, exc=error, messages={"json": [_("The body is not valid JSON.")]})


class Blueprint(flask_smorest.Blueprint):
    """Every route needs a bearer token, checked before its input is read (so a request
    without one is a 401 whatever it carries), unless the blueprint is ``public``."""

    ARGUMENTS_PARSER = _Parser()

    def __init__(self, *args: Any, public: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not public:
            self.before_request(authenticate)
