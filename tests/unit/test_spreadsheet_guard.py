"""Text that a spreadsheet would run as a formula gets one leading ', and only that one is taken away again."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dealdesk.services.spreadsheet_guard import guard_text, unguard_text


def test_text_that_starts_like_a_formula_is_guarded_and_other_text_is_not() -> None:
    assert [guard_text(t) for t in ["=SUM(A1)", "+1", "-2", "@x", "\tx", "\rx", "'quoted", "Acme"]] == [
        "'=SUM(A1)",
        "'+1",
        "'-2",
        "'@x",
        "'\tx",
        "'\rx",
        "''quoted",
        "Acme",
    ]


@given(st.text())
def test_unguarding_gives_back_exactly_the_text_that_was_guarded(text: str) -> None:
    assert unguard_text(guard_text(text)) == text
    assert guard_text(unguard_text(guard_text(text))) == guard_text(text)
