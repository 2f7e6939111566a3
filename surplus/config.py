"""One configuration class reading the environment, with safe defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret_key() -> str:
    """A random key kept under instance/, so a laptop install needs no setup."""
    INSTANCE.mkdir(exist_ok=True)
    path = INSTANCE / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    def __init__(self) -> None:
        env = os.environ
        self.SECRET_KEY = env.get("SECRET_KEY") or _dev_secret_key()
        self.SQLALCHEMY_DATABASE_URI = _database_url(
            env.get("DATABASE_URL", f"sqlite:///{INSTANCE / 'maillon.db'}")
        )
        # A ping per checkout costs a loopback round trip and spares users the error of a
        # connection the server dropped (restart, failover).
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 1800}
        # Session and cookies (Secure when served over HTTPS: set SESSION_COOKIE_SECURE=1).
        secure = _flag("SESSION_COOKIE_SECURE")
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = secure
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = secure
        self.PREFERRED_URL_SCHEME = "https" if secure else "http"
        self.PERMANENT_SESSION_LIFETIME = 60 * 60 * 12
        self.WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
        # Accounts (surplus/sessions.py, services/api_tokens.py, services/mfa.py): a web
        # session ends after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS
        # after sign-in; API tokens live API_TOKEN_MAX_AGE seconds; a reset link an hour.
        self.SESSION_IDLE_MINUTES = int(env.get("SESSION_IDLE_MINUTES", "120"))
        self.SESSION_MAX_HOURS = int(env.get("SESSION_MAX_HOURS", "12"))
        self.API_TOKEN_MAX_AGE = int(env.get("API_TOKEN_MAX_AGE", str(7 * 24 * 3600)))
        self.PASSWORD_RESET_MINUTES = int(env.get("PASSWORD_RESET_MINUTES", "60"))
        # Two-step verification (TOTP): required for these roles, offered to everyone;
        # a device that passed it is not asked again for MFA_REMEMBER_DAYS.
        self.MFA_REQUIRED_ROLES = [
            role.strip()
            for role in env.get("MFA_REQUIRED_ROLES", "coordinator,site_admin").split(",")
            if role.strip()
        ]
        self.MFA_REMEMBER_DAYS = int(env.get("MFA_REMEMBER_DAYS", "30"))
        self.MFA_ISSUER = env.get("MFA_ISSUER", "Maillon")
        # Throttling (Flask-Limiter, surplus/throttle.py): Redis when set, e.g.
        # redis://127.0.0.1:6379/0 (shared by every worker); memory otherwise.
        self.RATELIMIT_STORAGE_URI = env.get("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", True)
        self.RATELIMIT_HEADERS_ENABLED = True
        # GDPR: receivers' names, free-text notes and contact phones are blanked this
        # many days after the lot's date (2 years: the traceability duty, README).
        self.RETENTION_DAYS = int(env.get("RETENTION_DAYS", str(2 * 365)))
        # The account security log (sign-ins, failures, MFA, tokens) is kept this long.
        self.SECURITY_LOG_DAYS = int(env.get("SECURITY_LOG_DAYS", "365"))
        # Backups (`flask --app app backup`): where they are written by default.
        self.BACKUP_DIR = env.get("BACKUP_DIR", str(INSTANCE / "backups"))
        # Languages: French first.
        self.BABEL_DEFAULT_LOCALE = "fr"
        self.BABEL_DEFAULT_TIMEZONE = "Europe/Brussels"
        self.LANGUAGES = ["fr", "nl", "en"]
        self.BABEL_TRANSLATION_DIRECTORIES = str(ROOT / "translations")
        # Geocoding: the offline gazetteer unless GEOCODER=nominatim.
        self.GEOCODER = env.get("GEOCODER", "gazetteer")
        self.GEOCODER_USER_AGENT = env.get("GEOCODER_USER_AGENT", "maillon")
        self.GEOCODER_TIMEOUT = float(env.get("GEOCODER_TIMEOUT", "3"))
        self.GEOCODER_DOMAIN = env.get("GEOCODER_DOMAIN", "nominatim.openstreetmap.org")
        self.GEOCODER_SCHEME = env.get("GEOCODER_SCHEME", "https")
        self.ROAD_CIRCUITY = float(env.get("ROAD_CIRCUITY", "1.3"))
        # Mail (SMTP).
        self.MAIL_SERVER = env.get("MAIL_SERVER", "localhost")
        self.MAIL_PORT = int(env.get("MAIL_PORT", "25"))
        self.MAIL_USE_TLS = _flag("MAIL_USE_TLS")
        self.MAIL_USE_SSL = _flag("MAIL_USE_SSL")
        self.MAIL_USERNAME = env.get("MAIL_USERNAME")
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD")
        self.MAIL_DEFAULT_SENDER = env.get("MAIL_DEFAULT_SENDER", "Maillon <noreply@maillon.be>")
        self.MAIL_TIMEOUT = int(env.get("MAIL_TIMEOUT", "10"))
        self.MAIL_ENABLED = _flag("MAIL_ENABLED")
        self.MAIL_BACKEND = env.get("MAIL_BACKEND", "smtp")
        # Links in mails sent by jobs, which have no request to take the address from.
        self.PUBLIC_URL = env.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
        # Scheduler: runs only where asked (make run, or `flask scheduler`).
        self.SCHEDULER_ENABLED = _flag("SCHEDULER_ENABLED")
        self.DIGEST_AT = env.get("DIGEST_AT", "07:00")  # daily digest mails, Brussels time
        # API documentation (flask-smorest).
        self.API_TITLE = "Maillon API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.LOTS_PER_PAGE = 20
        # Lots whose API item and rendered card each process keeps (services/list_cache.py).
        self.LOT_LIST_CACHE_LOTS = int(env.get("LOT_LIST_CACHE_LOTS", "20000"))
        # A claim above this many kilograms asks "Claim N kg?" before it is sent.
        self.CLAIM_CONFIRM_KG = float(env.get("CLAIM_CONFIRM_KG", "50"))
        # Largest request body (a CSV of lots is the biggest); larger ones answer 413.
        self.MAX_CONTENT_LENGTH = int(env.get("MAX_CONTENT_LENGTH", str(4 * 1024 * 1024)))
        # Lot photos: the largest upload (its own request limit, above the one of other
        # forms), and where they are kept (services/photo_storage.py): "local" keeps them
        # under PHOTO_STORAGE_DIR; another storage is named "package.module:Class".
        self.PHOTO_MAX_BYTES = int(env.get("PHOTO_MAX_BYTES", str(8 * 1024 * 1024)))
        self.PHOTO_STORAGE = env.get("PHOTO_STORAGE", "local")
        self.PHOTO_STORAGE_DIR = env.get("PHOTO_STORAGE_DIR", str(INSTANCE / "photos"))
        # Matcher: weekly kg per served person, receipts window, farthest accepted km.
        self.MATCH_KG_PER_PERSON = float(env.get("MATCH_KG_PER_PERSON", "2.5"))
        self.MATCH_WINDOW_DAYS = int(env.get("MATCH_WINDOW_DAYS", "7"))
        self.MATCH_MAX_KM = float(env.get("MATCH_MAX_KM", "50"))
        # Continuous placement (services/placement.py): every PLACEMENT_EVERY_MINUTES the
        # matcher places the lots posted at least PLACEMENT_HOLD_MINUTES ago and every claim
        # is booked onto a run; PLACEMENT_ENABLED=0 leaves both to people.
        self.PLACEMENT_ENABLED = _flag("PLACEMENT_ENABLED", True)
        self.PLACEMENT_EVERY_MINUTES = max(1, int(env.get("PLACEMENT_EVERY_MINUTES", "15")))
        self.PLACEMENT_HOLD_MINUTES = max(0, int(env.get("PLACEMENT_HOLD_MINUTES", "0")))
        # A lot is placed only with organisations a planned run reaches at a detour of at most
        # max(PLACEMENT_DETOUR_MIN_KM, PLACEMENT_DETOUR_KM_PER_KG x kg) road km (pickup and
        # drop-off together; services/reachability.py), and the scheduler books a claim on
        # a run only within that budget of its kilograms. 10 km / 0.3 km per kg: the
        # simulated month of bench/README.md ("The detour budget") places 6 points more than
        # 3 / 0.1 and still adds under 0.1 km per kg delivered.
        self.PLACEMENT_DETOUR_KM_PER_KG = float(env.get("PLACEMENT_DETOUR_KM_PER_KG", "0.3"))
        self.PLACEMENT_DETOUR_MIN_KM = float(env.get("PLACEMENT_DETOUR_MIN_KM", "10"))
        # How much placement's matcher weighs the km a run adds to carry a pair
        # (matching.Params.detour_cost); 0 weighs only the donor-organisation distance.
        self.PLACEMENT_DETOUR_COST = max(0.0, float(env.get("PLACEMENT_DETOUR_COST", "64")))
        # Offer waves: a new lot goes to the platforms serving the donor (wave 1), after
        # WAVE_DELAY_HOURS to those within WAVE_RADIUS_KM road km (wave 2), then to all
        # (wave 3); a lot within WAVE_URGENT_HOURS of its date goes to all at once.
        self.WAVE_DELAY_HOURS = float(env.get("WAVE_DELAY_HOURS", "12"))
        self.WAVE_RADIUS_KM = float(env.get("WAVE_RADIUS_KM", "90"))
        self.WAVE_URGENT_HOURS = float(env.get("WAVE_URGENT_HOURS", "24"))
        # Depot stock within this many days of its last day (or past it) is signalled
        # to the platform's coordinators once a day (services/depots/alerts.py).
        self.STOCK_ALERT_DAYS = int(env.get("STOCK_ALERT_DAYS", "2"))
        # Map tiles (Leaflet); markers still show when tiles cannot load.
        self.MAP_TILE_URL = env.get(
            "MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
        )
        self.MAP_TILE_ATTRIBUTION = env.get("MAP_TILE_ATTRIBUTION", "© OpenStreetMap")
        self.MAP_TILE_ORIGIN = _origin(self.MAP_TILE_URL)


def _origin(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("{s}", "a"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _database_url(url: str) -> str:
    # Accept the common postgres:// spelling and pick psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url
