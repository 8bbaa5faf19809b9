"""The formula guard for CSV cells that people open in a spreadsheet (SPEC §7).

A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Google Sheets (`=HYPERLINK(…)`, `+cmd|…`, `@SUM(…)`). Such a cell is written with a leading `'`,
which spreadsheets show as text. A cell that already begins with `'` is guarded too, so that the guard can be taken
off again exactly: `unguard_text(guard_text(text)) == text` for every text, and an importer that unguards gives back
what was exported. Money, quantity and date cells are never guarded: their writer never passes them here."""

from __future__ import annotations

from typing import Final

GUARD: Final = "'"
STARTS_A_FORMULA: Final = frozenset("=+-@\t\r" + GUARD)
"""First characters that get the guard: a spreadsheet's formula starters, and the guard itself."""


def guard_text(value: str) -> str:
    """The text as a spreadsheet cell that no spreadsheet runs as a formula."""
    return GUARD + value if value[:1] in STARTS_A_FORMULA else value


def unguard_text(value: str) -> str:
    """The text `guard_text` was given: exactly one guard comes off, and only where `guard_text` put one."""
    if value[:1] == GUARD and value[1:2] in STARTS_A_FORMULA:
        return value[1:]
    return value
