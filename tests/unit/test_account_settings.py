"""The account security settings refuse values that would weaken what README promises."""

import pytest

from governance.config import Config, ConfigError


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PASSWORD_MIN_LENGTH", "8", "PASSWORD_MIN_LENGTH must be at least 10"),
        ("SESSION_IDLE_MINUTES", "1", "SESSION_IDLE_MINUTES must be at least 5"),
        ("SESSION_MAX_HOURS", "0", "SESSION_MAX_HOURS must be at least 1"),
        ("SESSION_MAX_HOURS", "twelve", "SESSION_MAX_HOURS must be a whole number"),
    ],
)
def test_account_security_settings_refuse_unsafe_values(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        Config()


def test_account_security_defaults(monkeypatch):
    for name in ("PASSWORD_MIN_LENGTH", "SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS"):
        monkeypatch.delenv(name, raising=False)
    config = Config()
    assert (config.PASSWORD_MIN_LENGTH, config.SESSION_IDLE_MINUTES) == (15, 30)
    assert config.SESSION_MAX_HOURS == 12
    assert config.PERMANENT_SESSION_LIFETIME == 12 * 3600
