"""Text cells that a spreadsheet would read as a formula, made inert, reversibly (SPEC §7).

`guard_text` puts one `'` before text that begins with `=`, `+`, `-`, `@`, tab, carriage return or `'`;
`unguard_text` removes exactly that one guard, so export → import → export is byte-identical. Money, quantity and
date cells are never passed through here."""

from __future__ import annotations

from typing import Final

GUARDED_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "'")


def guard_text(value: str) -> str:
    return "'" + value if value.startswith(GUARDED_STARTS) else value


def unguard_text(value: str) -> str:
    """The text before `guard_text`; text that no guard produced is left as it is."""
    return value[1:] if value.startswith("'") and value[1:].startswith(GUARDED_STARTS) else value
