import pytest
from django.core.exceptions import ImproperlyConfigured

from medexam.env import database_from_url, env_bool, env_int, env_str


def test_database_url_postgres_fields():
    config = database_from_url("postgres://med:s%40cret@db.local:5433/medexam?sslmode=require")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "medexam"
    assert config["USER"] == "med"
    assert config["PASSWORD"] == "s@cret"
    assert config["HOST"] == "db.local"
    assert config["PORT"] == "5433"
    assert config["OPTIONS"] == {"sslmode": "require"}


def test_database_url_sqlite_absolute_path():
    config = database_from_url("sqlite:////var/lib/medexam/db.sqlite3")
    assert config["NAME"] == "/var/lib/medexam/db.sqlite3"


@pytest.mark.parametrize("url", ["mysql://x@h/db", "postgres://u@h:5432/"])
def test_database_url_rejects_bad_url(url):
    with pytest.raises(ImproperlyConfigured):
        database_from_url(url)


def test_database_url_error_hides_password():
    with pytest.raises(ImproperlyConfigured) as info:
        database_from_url("postgres://u:topsecret@h:5432/")
    assert "topsecret" not in str(info.value)


def test_env_bool_rejects_typo(monkeypatch):
    monkeypatch.setenv("MEDEXAM_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="MEDEXAM_FLAG"):
        env_bool("MEDEXAM_FLAG", False)


def test_env_int_minimum(monkeypatch):
    monkeypatch.setenv("MEDEXAM_N", "0")
    with pytest.raises(ImproperlyConfigured, match="minimum"):
        env_int("MEDEXAM_N", 3, minimum=1)


def test_env_str_reads_file_variant(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-file\n", encoding="utf-8")
    monkeypatch.setenv("MEDEXAM_KEY_FILE", str(secret))
    assert env_str("MEDEXAM_KEY") == "from-file"
