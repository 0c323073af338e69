"""Markdown rendering is sanitised: no script, no event handlers, no javascript: links."""

import re

import pytest

from governance.policies.rendering import render_markdown


def test_markdown_becomes_html():
    html = render_markdown("# Title\n\nSome **bold** text.\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<h2>Title</h2>" in html  # the page title is the only <h1>
    assert "<strong>bold</strong>" in html
    assert "<table>" in html


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "![x](javascript:alert(1))",
        '<iframe src="https://evil.example"></iframe>',
        "[x](JaVaScRiPt:alert(1))",
    ],
)
def test_dangerous_input_never_survives(source):
    html = render_markdown(source).lower()
    tags = re.findall(r"<[a-z][^>]*>", html)  # real tags only; escaped text is harmless
    assert not [tag for tag in tags if tag.startswith(("<script", "<iframe"))]
    assert not [tag for tag in tags if re.search(r"\son\w+=", tag)]
    assert not [tag for tag in tags if "javascript:" in tag]


def test_links_are_kept_with_a_safe_rel():
    html = render_markdown("[policy](https://example.org/p)")
    assert 'href="https://example.org/p"' in html
    assert "noopener" in html
