"""Form fields for numbers and dates that refuse, with a message, what the app cannot store or
compute with (see governance.parsing), and the choices of every select. Every form uses these,
never WTForms' own."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import wtforms
from wtforms import SelectChoice

from governance.parsing import DATE_FORMAT_MESSAGE, ID_MAX, check_date, parse_int


class IntegerField(wtforms.IntegerField):
    """A whole number from `minimum` to `maximum` (default: what an id column holds)."""

    def __init__(self, *args, minimum: int = 1, maximum: int = ID_MAX, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            return
        self.data = None  # a refused value never lingers as the field's data
        self.data = parse_int(valuelist[0], minimum=self.minimum, maximum=self.maximum)


class DateField(wtforms.DateField):
    """A YYYY-MM-DD date within the range the app computes with, with messages that say so."""

    data: date | None

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(DATE_FORMAT_MESSAGE) from None
        if self.data is not None:
            try:
                check_date(self.data)
            except ValueError:
                self.data = None
                raise


def coerce_id(value) -> int:
    """SelectField's coerce for ids: ValueError ("Invalid choice") for what no row can have.

    0 is let through: it is the "— choose —" placeholder some selects offer (no row has it).
    """
    return parse_int(str(value), minimum=0)


def select_choices(pairs: Iterable[tuple[Any, str]]) -> list[SelectChoice]:
    """The choices of a SelectField, SelectMultipleField or RadioField from (value, label) pairs
    (or a dict's items()). WTForms 3.4 drops tuple choices; every select builds them here."""
    return [SelectChoice(value, label) for value, label in pairs]
