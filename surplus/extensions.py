"""Flask extensions as module-level objects, wired in ``create_app``."""

from flask_babel import Babel
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from .models.base import db

babel = Babel()
csrf = CSRFProtect()
htmx = HTMX()
login_manager = LoginManager()
migrate = Migrate()

__all__ = ["babel", "csrf", "db", "htmx", "login_manager", "migrate"]
