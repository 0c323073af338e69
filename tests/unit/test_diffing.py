"""Side-by-side revision comparison."""

from governance.policies.diffing import changed_count, side_by_side


def test_identical_texts_have_no_changes():
    rows = side_by_side("a\nb\n", "a\nb\n")
    assert [row.kind for row in rows] == ["equal", "equal"]
    assert changed_count(rows) == 0


def test_changed_words_are_highlighted_on_both_sides():
    rows = side_by_side("Keep records for 5 years.", "Keep records for 7 years.")
    assert [row.kind for row in rows] == ["replace"]
    assert "<del>5</del>" in rows[0].left
    assert "<ins>7</ins>" in rows[0].right
    assert "Keep records for" in rows[0].left


def test_added_and_removed_lines_are_marked_with_their_numbers():
    rows = side_by_side("one\ntwo\nthree", "one\nthree\nfour")
    kinds = [(row.kind, row.left_number, row.right_number) for row in rows]
    assert ("delete", 2, None) in kinds
    assert ("insert", None, 3) in kinds
    assert changed_count(rows) == 2


def test_markup_in_the_text_is_escaped():
    rows = side_by_side("<b>old</b>", "<script>alert(1)</script>")
    html = str(rows[0].left) + str(rows[0].right)
    assert "<script" not in html
    assert "<b>" not in html
    assert "&lt;" in html
