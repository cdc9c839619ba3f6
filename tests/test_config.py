"""Settings: layers, environment variables, and a production that refuses unsafe defaults."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from coaching import create_app
from coaching.config import ROOT, ConfigError, apply_environment, finalise
from tests.apps import TEST_SECRET_KEY


def base_config(**values) -> dict:
    """The settings mapping as create_app has it before finalise()."""
    from coaching.config import Config

    config = {name: getattr(Config, name) for name in dir(Config) if name.isupper()}
    config.update(values)
    return config


def test_environment_overrides_settings_with_their_types():
    """Do environment variables of the same name override settings, typed like their defaults?"""
    config = base_config()
    apply_environment(config, {
        "POSTS_PER_PAGE": "5", "SESSION_COOKIE_SECURE": "false", "SITE_NAME": "Hope",
        "RATELIMIT_ENABLED": "False", "WTF_CSRF_TIME_LIMIT": "none", "HOME": "/ignored",
    })
    assert config["POSTS_PER_PAGE"] == 5
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SITE_NAME"] == "Hope"
    assert config["RATELIMIT_ENABLED"] is False
    assert config["WTF_CSRF_TIME_LIMIT"] is None
    assert "HOME" not in config


@pytest.mark.parametrize(("name", "raw", "message"), [
    ("POSTS_PER_PAGE", "ten", "whole number"),
    ("SESSION_COOKIE_SECURE", "maybe", "true or false"),
])
def test_bad_environment_values_are_named(name, raw, message):
    """Is a mistyped setting refused with a message naming it and what it should be?"""
    with pytest.raises(ConfigError, match=f"{name} must be .*{message}"):
        apply_environment(base_config(), {name: raw})


def test_database_url_accepts_postgres_spellings(tmp_path):
    """Do postgres:// and postgresql:// URLs use the psycopg 3 driver?"""
    config = base_config(DATABASE_URL="postgres://u@h/db", SECRET_KEY="x" * 32, DEVELOPMENT=True)
    finalise(config, tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    """Does production (the default) refuse a missing SECRET_KEY with a message saying how to set one?"""
    with pytest.raises(ConfigError, match="SECRET_KEY is not set.*token_hex"):
        finalise(base_config(COACH_EMAIL="coach@example.org"), tmp_path)
    with pytest.raises(ConfigError, match="COACH_EMAIL"):
        finalise(base_config(SECRET_KEY="x" * 32), tmp_path)


def test_production_refuses_to_start_without_site_url(tmp_path):
    """Does production refuse a missing SITE_URL with a message saying how to set it?"""
    with pytest.raises(ConfigError, match=r"SITE_URL is not set.*SITE_URL=https://"):
        finalise(base_config(SECRET_KEY="x" * 32, COACH_EMAIL="coach@example.org"), tmp_path)


@pytest.mark.parametrize("site_url", ["hopefordystonia.com", "ftp://hopefordystonia.com", "https://",
                                      "https://hopefordystonia.com/blog", "https://a@hopefordystonia.com",
                                      "https://hopefordystonia.com?x=1", "https://hopefordystonia.com:99999"])
def test_a_site_url_that_is_not_a_web_address_is_refused(tmp_path, site_url):
    """Is a SITE_URL that isn't http(s)://host (no path, query or login) refused by name, in development too?"""
    with pytest.raises(ConfigError, match=r"SITE_URL .* is not a web address"):
        finalise(base_config(DEVELOPMENT=True, SITE_URL=site_url), tmp_path)


@pytest.mark.parametrize(("environment", "trusted"), [
    ({}, ["hopefordystonia.example"]),
    ({"TRUSTED_HOSTS": "hopefordystonia.example, www.hopefordystonia.example"},
     ["hopefordystonia.example", "www.hopefordystonia.example"]),
])
def test_trusted_hosts_come_from_site_url_unless_set(tmp_path, environment, trusted):
    """Is TRUSTED_HOSTS SITE_URL's host in production, unless given (comma-separated) in the environment?"""
    config = base_config(SECRET_KEY="x" * 32, COACH_EMAIL="coach@example.org",
                         SITE_URL="https://hopefordystonia.example/")
    apply_environment(config, environment)
    finalise(config, tmp_path)
    assert config["TRUSTED_HOSTS"] == trusted
    assert config["SITE_URL"] == "https://hopefordystonia.example"


def test_development_secret_key_is_made_once_and_kept(tmp_path):
    """In development, is a secret key generated into instance/ once and reused after a restart?"""
    first = base_config(DEVELOPMENT=True)
    finalise(first, tmp_path)
    second = base_config(DEVELOPMENT=True)
    finalise(second, tmp_path)
    assert len(first["SECRET_KEY"]) == 64
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_turns_on_secure_cookies_and_hsts(tmp_path):
    """Does production default to Secure cookies and HSTS, and development to neither?"""
    production = base_config(SECRET_KEY="x" * 32, COACH_EMAIL="coach@example.org", SITE_URL="https://example.org")
    finalise(production, tmp_path)
    assert production["SESSION_COOKIE_SECURE"] is True and production["HSTS_ENABLED"] is True
    development = base_config(DEVELOPMENT=True)
    finalise(development, tmp_path)
    assert development["SESSION_COOKIE_SECURE"] is False and development["HSTS_ENABLED"] is False


def test_gunicorn_app_refuses_to_start_without_a_secret_key():
    """Does importing app.py (what gunicorn app:app does) fail with the SECRET_KEY message?"""
    env = {key: value for key, value in os.environ.items()
           if key not in {"SECRET_KEY", "DEVELOPMENT", "COACH_EMAIL", "SITE_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_instance_config_file_is_read(tmp_path, monkeypatch):
    """Is instance/config.py read between the defaults and the environment?"""
    (tmp_path / "config.py").write_text("SITE_NAME = 'From instance'\nPOSTS_PER_PAGE = 3\n")
    monkeypatch.delenv("SITE_NAME", raising=False)
    monkeypatch.setenv("POSTS_PER_PAGE", "4")
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "DATABASE_URL": "sqlite://"},
                     instance_path=tmp_path)
    assert app.config["SITE_NAME"] == "From instance"
    assert app.config["POSTS_PER_PAGE"] == 4


def test_an_unknown_time_zone_is_refused_by_name(tmp_path):
    """Does TIME_ZONE=Mars/Olympus stop start-up with a message that names it and shows a valid one?"""
    with pytest.raises(ConfigError, match=r"'Mars/Olympus' is not a known time zone.*Europe/London"):
        create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "TIME_ZONE": "Mars/Olympus"},
                   instance_path=tmp_path)


def test_coach_name_defaults_to_the_site_name(tmp_path):
    """Is the From name of the coach's replies the site's name until COACH_NAME is set?"""
    default = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY}, instance_path=tmp_path)
    named = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "COACH_NAME": "Ruth"}, instance_path=tmp_path)
    assert default.config["COACH_NAME"] == "Hope for Dystonia" and named.config["COACH_NAME"] == "Ruth"
