"""Strict readers for settings that come from the environment.

Each reader raises ImproperlyConfigured with the variable's name and the
expected form, so a typo in a deployment fails at start-up instead of
running with a silent default. A variable NAME may instead be given as
NAME_FILE, the path of a file that contains the value (Docker and
Kubernetes secrets); the file's trailing newline is dropped.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    """Return NAME, or the contents of the file named by NAME_FILE, or default."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE={file_path!r} cannot be read ({exc.strerror}); "
                f"point it at a readable file or set {name} instead."
            ) from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    return value


def env_float(name: str, default: float) -> float:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env_str(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str) -> dict[str, object]:
    """Translate a DATABASE_URL into a Django DATABASES entry.

    Accepted forms: postgres://user:password@host:port/name (also postgresql://,
    with ?sslmode=... and other libpq options passed through) and sqlite:///path.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite:///relative.db gives "/relative.db"; sqlite:////abs/path gives "//abs/path".
        name = path[1:] if path.startswith("/") else path
        if not name:
            raise ImproperlyConfigured(
                f"DATABASE_URL={url!r} names no file; use sqlite:///db.sqlite3."
            )
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
    if scheme in {"postgres", "postgresql", "pgsql"}:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured(
                f"DATABASE_URL for host {parts.hostname!r} names no database; "
                "append /DBNAME to the URL."
            )
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {scheme!r} is not supported; use postgres://... or sqlite:///..."
    )


def read_or_create_secret_key(path: Path) -> str:
    """Return the key stored at path, creating it on first use.

    Only the embedded default uses this: a trial install gets a key that
    persists across restarts without the user having to make one up.
    """
    import secrets

    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    if not key:
        key = secrets.token_urlsafe(50)
        path.write_text(key + "\n", encoding="ascii")
        path.chmod(0o600)
    return key
