"""Settings from the environment: secret key, production safety, database and Huey transport."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from governance import config
from governance.config import Config, ConfigError

SETTINGS = [
    "SECRET_KEY",
    "AUDIT_CHECKPOINT_KEY",
    "AUDIT_CHECKPOINT_MINUTES",
    "STEWARD_ENV",
    "DATABASE_URL",
    "REDIS_URL",
    "SESSION_COOKIE_SECURE",
    "HUEY_NAME",
    "HUEY_SQLITE_PATH",
    "STEWARD_BASE_URL",
    "PORT",
]


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean environment whose instance directory is a fresh temporary folder."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STEWARD_INSTANCE_DIR", str(tmp_path / "instance"))
    return monkeypatch


def test_development_without_secret_key_generates_one_private_key_and_reuses_it(env, tmp_path):
    first = Config().SECRET_KEY
    second = Config().SECRET_KEY

    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert second == first
    assert len(first) >= 32


def test_each_instance_directory_gets_its_own_generated_key(env, tmp_path):
    first = Config().SECRET_KEY
    env.setenv("STEWARD_INSTANCE_DIR", str(tmp_path / "elsewhere"))

    other = Config().SECRET_KEY

    assert other != first


def test_secret_key_from_the_environment_wins_and_writes_no_file(env, tmp_path):
    env.setenv("SECRET_KEY", "from-the-environment")

    assert Config().SECRET_KEY == "from-the-environment"
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_production_without_secret_key_refuses_to_start(env, tmp_path):
    env.setenv("STEWARD_ENV", "production")

    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Config()
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_production_ignores_a_generated_key_left_in_the_instance_dir(env):
    Config()  # development writes instance/secret_key
    env.setenv("STEWARD_ENV", "Production ")

    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Config()


def test_production_without_a_base_url_refuses_to_start(env):
    env.setenv("STEWARD_ENV", "production")
    env.setenv("SECRET_KEY", "a-long-random-production-secret")
    env.setenv("AUDIT_CHECKPOINT_KEY", "another-long-random-production-secret")

    with pytest.raises(ConfigError, match="STEWARD_BASE_URL is not set"):
        Config()


def test_the_base_url_defaults_to_the_address_make_run_prints(env):
    assert Config().STEWARD_BASE_URL == "http://127.0.0.1:5000"
    env.setenv("PORT", "8080")
    assert Config().STEWARD_BASE_URL == "http://127.0.0.1:8080"


def test_the_base_url_loses_its_trailing_slash_and_keeps_its_path(env):
    env.setenv("STEWARD_BASE_URL", " https://steward.example.org/gov/ ")
    assert Config().STEWARD_BASE_URL == "https://steward.example.org/gov"


@pytest.mark.parametrize("given", ["steward.example.org", "ftp://steward.example.org", "https://"])
def test_a_base_url_that_is_not_an_http_address_is_refused(env, given):
    env.setenv("STEWARD_BASE_URL", given)
    with pytest.raises(ConfigError, match="STEWARD_BASE_URL must be an http or https address"):
        Config()


def test_production_sends_cookies_only_over_https(env):
    env.setenv("STEWARD_ENV", "production")
    env.setenv("SECRET_KEY", "a-long-random-production-secret")
    env.setenv("AUDIT_CHECKPOINT_KEY", "another-long-random-production-secret")
    env.setenv("STEWARD_BASE_URL", "https://steward.example.org")

    settings = Config()

    assert settings.STEWARD_ENV == "production"
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.REMEMBER_COOKIE_SECURE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"


def test_production_without_an_audit_checkpoint_key_refuses_to_start(env):
    env.setenv("STEWARD_ENV", "production")
    env.setenv("SECRET_KEY", "a-long-random-production-secret")
    env.setenv("STEWARD_BASE_URL", "https://steward.example.org")

    with pytest.raises(ConfigError, match="AUDIT_CHECKPOINT_KEY is not set"):
        Config()


def test_outside_production_the_checkpoint_key_may_be_left_to_derive(env):
    assert Config().AUDIT_CHECKPOINT_KEY == ""
    env.setenv("AUDIT_CHECKPOINT_KEY", "kept-in-the-vault")
    assert Config().AUDIT_CHECKPOINT_KEY == "kept-in-the-vault"


@pytest.mark.parametrize("value", ["0", "-5", "hourly", "inf", "nan", "1e9"])
def test_an_audit_checkpoint_interval_that_is_no_positive_number_is_refused(env, value):
    env.setenv("AUDIT_CHECKPOINT_MINUTES", value)
    with pytest.raises(ConfigError, match="AUDIT_CHECKPOINT_MINUTES must be a number"):
        Config()


def test_development_cookies_work_over_plain_http(env):
    settings = Config()

    assert settings.STEWARD_ENV == "development"
    assert settings.SESSION_COOKIE_SECURE is False


def test_secure_cookies_can_be_switched_on_outside_production(env):
    env.setenv("SESSION_COOKIE_SECURE", "true")

    assert Config().SESSION_COOKIE_SECURE is True


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/steward", "postgresql+psycopg://u:p@db:5432/steward"),
        ("postgresql://u:p@db:5432/steward", "postgresql+psycopg://u:p@db:5432/steward"),
        (
            "postgresql+psycopg://u:p@db:5432/steward",
            "postgresql+psycopg://u:p@db:5432/steward",
        ),
        ("sqlite:////srv/steward.db", "sqlite:////srv/steward.db"),
    ],
)
def test_database_url_names_the_psycopg3_driver(env, given, expected):
    env.setenv("DATABASE_URL", given)

    uri = Config().SQLALCHEMY_DATABASE_URI

    assert uri == expected


def test_without_database_url_a_sqlite_file_in_the_instance_dir_is_used(env, tmp_path):
    uri = Config().SQLALCHEMY_DATABASE_URI

    assert uri == f"sqlite:///{tmp_path / 'instance' / 'steward.db'}"


def test_redis_url_selects_the_redis_huey_and_shared_throttle(env):
    env.setenv("REDIS_URL", "redis://cache:6379/2")

    settings = config.huey_settings()

    assert settings["kind"] == "redis"
    assert settings["url"] == "redis://cache:6379/2"
    assert settings["name"] == "steward"
    app_settings = Config()
    assert settings == app_settings.HUEY
    assert app_settings.RATELIMIT_STORAGE_URI == "redis://cache:6379/2"


def test_without_redis_huey_uses_a_sqlite_file_in_the_instance_dir(env, tmp_path):
    settings = config.huey_settings()

    assert settings["kind"] == "sqlite"
    assert settings["path"] == str(tmp_path / "instance" / "huey.db")
    assert Config().RATELIMIT_STORAGE_URI == "memory://"


def test_empty_redis_url_counts_as_unset(env):
    env.setenv("REDIS_URL", "")

    assert config.huey_settings()["kind"] == "sqlite"


def test_production_without_secret_key_refuses_to_start_with_one_clear_line(tmp_path):
    environment = {
        key: value for key, value in os.environ.items() if key not in ("SECRET_KEY",)
    } | {"STEWARD_ENV": "production", "STEWARD_INSTANCE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Steward cannot start: SECRET_KEY is not set.")
    assert "Traceback" not in result.stderr
