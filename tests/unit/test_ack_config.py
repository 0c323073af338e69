"""ACK_REMINDER_DAYS: whole days, sorted, each once; anything else stops start-up clearly."""

from __future__ import annotations

import pytest

from governance.config import ConfigError, _day_list


def test_reminder_days_are_sorted_whole_days_each_once(monkeypatch):
    monkeypatch.setenv("ACK_REMINDER_DAYS", " 14, 7,7 ,30")

    assert _day_list("ACK_REMINDER_DAYS", "7,14") == (7, 14, 30)


def test_reminder_days_default_to_7_and_14(monkeypatch):
    monkeypatch.delenv("ACK_REMINDER_DAYS", raising=False)

    assert _day_list("ACK_REMINDER_DAYS", "7,14") == (7, 14)


@pytest.mark.parametrize("raw", ["seven", "7,0", "-1"])
def test_reminder_days_refuse_what_is_not_a_positive_whole_day(monkeypatch, raw):
    monkeypatch.setenv("ACK_REMINDER_DAYS", raw)

    with pytest.raises(ConfigError, match="ACK_REMINDER_DAYS"):
        _day_list("ACK_REMINDER_DAYS", "7,14")
