"""How the win/loss report splits a date range into whole months it reads from their sums and the days left over
whose closes it groups (domain/months.py): every day of the range exactly once, nothing outside it."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from dealdesk.domain.months import following, left_over, lies_within, months_from

DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31))


def _days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def test_the_month_after_december_is_january_of_the_next_year() -> None:
    assert following(date(2025, 12, 1)) == date(2026, 1, 1)
    assert following(date(2026, 1, 1)) == date(2026, 2, 1)


def test_months_from_a_day_run_up_to_the_month_before_the_end() -> None:
    assert list(months_from(date(2025, 11, 20), date(2026, 2, 1))) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
    ]


def test_a_month_lies_within_a_range_only_with_every_one_of_its_days() -> None:
    assert lies_within(date(2026, 2, 1), date(2026, 2, 1), date(2026, 2, 28))
    assert not lies_within(date(2026, 2, 1), date(2026, 2, 2), None)
    assert not lies_within(date(2026, 2, 1), None, date(2026, 2, 27))
    assert lies_within(date(2026, 2, 1), None, None)


def test_without_whole_months_the_whole_range_is_left_over() -> None:
    assert left_over(None, None, []) == [(None, None)]
    assert left_over(date(2026, 1, 5), None, []) == [(date(2026, 1, 5), None)]


@settings(max_examples=200, deadline=None)
@given(first=DAYS, last=DAYS, chosen=st.sets(st.integers(min_value=0, max_value=40)))
def test_the_whole_months_and_the_days_left_over_cover_the_range_exactly_once(
    first: date, last: date, chosen: set[int]
) -> None:
    date_from, date_to = min(first, last), max(first, last)
    within = [m for m in months_from(date(2023, 12, 1), date(2027, 3, 1)) if lies_within(m, date_from, date_to)]
    months = sorted(within[i] for i in chosen if i < len(within))

    covered: list[date] = []
    for month in months:
        covered += sorted(_days(month, following(month) - timedelta(days=1)))
    for start, end in left_over(date_from, date_to, months):
        assert start is not None and end is not None and start <= end
        covered += sorted(_days(start, end))

    assert sorted(covered) == sorted(_days(date_from, date_to))
