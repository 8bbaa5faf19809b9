"""Calendar months as the win/loss report splits a date range: the whole months it can read from their sums, and
the stretches of days around and between them whose closes it must group itself."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta

DateRange = tuple[date | None, date | None]
"""Inclusive bounds on a close date; None leaves that end open."""


def first_day(day: date) -> date:
    return day.replace(day=1)


def following(month: date) -> date:
    """The first day of the month after the one `month` starts."""
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def months_from(start: date, before: date) -> Iterator[date]:
    """The first day of each month from `start`'s up to, not including, `before`'s."""
    month, end = first_day(start), first_day(before)
    while month < end:
        yield month
        month = following(month)


def lies_within(month: date, date_from: date | None, date_to: date | None) -> bool:
    """Whether every day of the month is in the range."""
    last = following(month) - timedelta(days=1)
    return (date_from is None or date_from <= month) and (date_to is None or last <= date_to)


def left_over(date_from: date | None, date_to: date | None, months: Sequence[date]) -> list[DateRange]:
    """The parts of the range outside the given whole months (ascending, each within the range), as few ranges as
    possible: with the months, they cover every day of the range exactly once."""
    ranges: list[DateRange] = []
    start = date_from
    for month in months:
        if start is None or start < month:
            ranges.append((start, month - timedelta(days=1)))
        start = following(month)
    if start is None or date_to is None or start <= date_to:
        ranges.append((start, date_to))
    return ranges
