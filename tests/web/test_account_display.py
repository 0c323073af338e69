"""The account page's display settings: the colour scheme (rendered as <html data-theme>) and the
time zone the pages show times in (the account's, else the browser's `tz` cookie, else UTC)."""

from __future__ import annotations

import re

import pytest

from governance.auth.models import User
from tests.factories import make_policy


def _fresh(db, user_id) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def _updated_title(client, policy_id) -> str:
    """The exact time on hover of the policy page's "Updated" fact."""
    html = client.get(f"/policies/{policy_id}").get_data(as_text=True)
    [title] = re.findall(r'<dt>Updated</dt><dd><time datetime="[^"]+" title="([^"]+)"', html)
    return title


def test_the_account_page_offers_theme_and_time_zone_with_the_defaults_chosen(as_role, db):
    html = as_role("viewer").get("/account").get_data(as_text=True)
    assert 'action="/account/display"' in html
    for label in ("Follow the system", "Light", "Dark"):
        assert label in html
    assert 'checked id="theme-0" name="theme" required type="radio" value="system"' in html
    assert '<option selected value="">Use my browser&#39;s time zone</option>' in html
    assert '<option value="Europe/Berlin">Europe/Berlin</option>' in html
    assert "Times now show in UTC." in html
    assert html.startswith("<!doctype html>\n") and "data-theme" not in html.split(">", 2)[1]


def test_saving_dark_and_a_zone_keeps_them_and_renders_the_theme_on_every_page(as_role, users, db):
    client = as_role("viewer")
    response = client.submit(
        "/account/display", {"theme": "dark", "time_zone": "Europe/Berlin"}, token_from="/account"
    )
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    user = _fresh(db, users["viewer"].id)
    assert (user.theme, user.time_zone) == ("dark", "Europe/Berlin")
    html = client.get("/account").get_data(as_text=True)
    assert "Saved: theme “dark”, times shown in Europe/Berlin." in html
    assert '<html lang="en" data-theme="dark">' in html
    assert '<option selected value="Europe/Berlin">' in html
    assert "Times now show in Europe/Berlin." in html
    assert '<html lang="en" data-theme="dark">' in client.get("/policies").get_data(as_text=True)

    client.submit("/account/display", {"theme": "light", "time_zone": ""}, token_from="/account")
    user = _fresh(db, users["viewer"].id)
    assert (user.theme, user.time_zone) == ("light", None)
    assert '<html lang="en" data-theme="light">' in client.get("/policies").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"theme": "system", "time_zone": "Mars/Olympus_Mons"},
            "“Mars/Olympus_Mons” is not a time zone Steward knows. Choose one from the list",
        ),
        ({"theme": "system", "time_zone": "x" * 300}, "is not a time zone Steward knows"),
        ({"theme": "sepia", "time_zone": ""}, "Choose one of the offered colour schemes."),
        ({"time_zone": "UTC"}, "Choose a colour scheme."),
    ],
)
def test_a_bad_display_setting_is_refused_with_a_message(as_role, users, db, data, message):
    client = as_role("viewer")
    response = client.submit("/account/display", data, token_from="/account")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert "Change password" in html  # the whole account page
    user = _fresh(db, users["viewer"].id)
    assert (user.theme, user.time_zone) == ("system", None)


def test_the_display_setting_needs_a_csrf_token_and_a_login(client, as_role, users, db):
    response = as_role("viewer").post("/account/display", data={"theme": "dark"})
    assert response.status_code == 400
    anonymous = client.post(
        "/account/display", data={"theme": "dark", "csrf_token": client.csrf_token("/login")}
    )
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    assert _fresh(db, users["viewer"].id).theme == "system"


def test_times_show_in_the_accounts_zone_else_the_browsers_else_utc(as_role, users, db):
    policy = make_policy(users["owner"])
    client = as_role("owner")
    assert _updated_title(client, policy.id).endswith(" UTC")

    client.set_cookie("tz", "Asia/Tokyo")
    assert _updated_title(client, policy.id).endswith(" JST (Asia/Tokyo)")

    client.set_cookie("tz", "Not/A_Zone")  # anything a browser sends is only a hint
    assert _updated_title(client, policy.id).endswith(" UTC")

    client.set_cookie("tz", "Asia/Tokyo")
    client.submit(
        "/account/display",
        {"theme": "system", "time_zone": "America/New_York"},
        token_from="/account",
    )
    assert re.search(r" E[SD]T \(America/New_York\)$", _updated_title(client, policy.id))


def test_a_time_reads_relative_with_the_exact_time_for_screen_readers(as_role, users, db):
    policy = make_policy(users["owner"])
    html = as_role("owner").get(f"/policies/{policy.id}").get_data(as_text=True)
    iso = policy.updated_at.isoformat()
    assert re.search(
        rf'<time datetime="{re.escape(iso)}" title="([^"]+)">(just now|\d+ min ago)'
        r'<span class="visually-hidden"> \(\1\)</span></time>',
        html,
    )
