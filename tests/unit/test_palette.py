"""Both colour palettes of static/steward.css meet WCAG AA for the pairs the pages use, and the
dark palette is the same whether the system or the account asked for it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[2] / "static" / "steward.css").read_text()

# (text or border, background, minimum ratio): 4.5 for text, 3 for borders and graphics.
PAIRS = [
    *[("ink", bg, 4.5) for bg in ("bg", "card", "code-bg", "hover-bg", "subtle-bg", "pre-bg")],
    *[("ink", bg, 4.5) for bg in ("overdue-row-bg", "fresh-row-bg", "unread-bg", "dg-step-bg")],
    *[("ink", bg, 4.5) for bg in ("del-bg", "ins-bg", "diff-del-bg", "ok-bg", "warn-bg")],
    *[("muted", bg, 4.5) for bg in ("bg", "card", "code-bg", "hover-bg", "dg-step-bg")],
    *[("accent", bg, 4.5) for bg in ("bg", "card", "info-bg", "unread-bg", "hover-bg")],
    ("brand-ink", "brand", 4.5),
    ("primary-ink", "primary", 4.5),
    ("primary-ink", "primary-hover", 4.5),
    ("alert-ink", "alert", 4.5),
    ("traceback-ink", "traceback-bg", 4.5),
    # Badges: their text on their own background.
    ("danger", "danger-bg", 4.5),
    ("danger", "card", 4.5),
    ("danger", "stale-row-bg", 4.5),
    ("ok", "ok-bg", 4.5),
    ("warn", "warn-bg", 4.5),
    ("warn", "overdue-row-bg", 4.5),
    ("info", "info-bg", 4.5),
    ("neutral", "neutral-bg", 4.5),
    ("retired", "retired-bg", 4.5),
    ("violet", "violet-bg", 4.5),
    # Borders of form fields, the focus ring, the workflow diagram and the queue chart.
    ("input-line", "card", 3),
    ("focus", "card", 3),
    ("focus", "bg", 3),
    ("dg-arrow", "card", 3),
    ("step-line", "card", 3),
    ("step-line", "dg-step-bg", 3),
    ("violet", "violet-bg", 3),
    ("dg-wait-line", "warn-bg", 3),
    ("chart-ok", "subtle-bg", 3),
    ("chart-bad", "subtle-bg", 3),
    ("chart-axis", "subtle-bg", 3),
]


def _block(selector: str) -> str:
    start = CSS.index(selector + " {\n")
    return CSS[start : CSS.index("}", start)]


def _colours(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\b", block))


def _luminance(colour: str) -> float:
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(digit * 2 for digit in hex_digits)
    channels = [int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


LIGHT = _colours(_block(":root"))
DARK = {**LIGHT, **_colours(_block('html[data-theme="dark"]'))}


def test_contrast_of_black_on_white_is_21():
    assert contrast("#000", "#fff") == pytest.approx(21)


def test_the_dark_palette_is_the_same_for_the_system_and_for_the_account_setting():
    from_system = _block('  html:not([data-theme="light"])')
    normalised = " ".join(from_system.split("{", 1)[1].split())
    assert normalised == " ".join(_block('html[data-theme="dark"]').split("{", 1)[1].split())


def test_every_custom_property_used_is_defined():
    used = set(re.findall(r"var\(--([\w-]+)", CSS))
    defined = set(re.findall(r"--([\w-]+):", CSS))
    assert used <= defined


@pytest.mark.parametrize("palette", ["light", "dark"])
@pytest.mark.parametrize(("foreground", "background", "minimum"), PAIRS)
def test_colour_pairs_meet_wcag_aa(palette, foreground, background, minimum):
    colours = LIGHT if palette == "light" else DARK
    ratio = contrast(colours[foreground], colours[background])
    assert ratio >= minimum, f"{foreground} on {background}: {ratio:.2f}:1"


def test_no_colour_literal_outside_the_palettes():
    """A literal colour below the palettes would stay the same in dark mode: name it above."""
    after_palettes = CSS[CSS.index("* { box-sizing") :].splitlines()
    literals = [line for line in after_palettes if re.search(r"#[0-9a-fA-F]{3,6}\b|rgba?\(", line)]
    assert literals == []
