"""ISO 8601 durations as template authors write them; months and years are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cycle_engine.spec.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P3W", timedelta(weeks=3)),
        ("P10D", timedelta(days=10)),
        ("PT4H", timedelta(hours=4)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("PT90M", timedelta(minutes=90)),
        ("P2W3D", timedelta(weeks=2, days=3)),
        ("P0D", timedelta(0)),
    ],
)
def test_parse_duration_reads_weeks_days_and_time(text: str, expected: timedelta) -> None:
    """Weeks, days, hours, minutes and seconds parse to the matching timedelta."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P1Y2M", "P2M1D"])
def test_parse_duration_refuses_months_and_years(text: str) -> None:
    """Months and years have no fixed length, so the error tells the author to use weeks."""
    with pytest.raises(ValueError, match="months and years have no fixed length"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["", "P", "PT", "P1DT", "3 weeks", "p3w", "P-1D", "P1.5D"])
def test_parse_duration_refuses_text_that_is_not_a_duration(text: str) -> None:
    """Anything else is refused with an example of what is accepted."""
    with pytest.raises(ValueError, match="ISO 8601 duration such as 'P3W'"):
        parse_duration(text)


def test_parse_duration_refuses_non_strings() -> None:
    """A number (YAML reads `duration: 14` as an int) is refused, not taken as days."""
    with pytest.raises(ValueError, match="got 14"):
        parse_duration(14)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(weeks=3), "P3W"),
        (timedelta(days=10), "P10D"),
        (timedelta(minutes=5), "PT5M"),
        (timedelta(0), "P0D"),
        (timedelta(days=-7), "-P1W"),
    ],
)
def test_format_duration_writes_what_authors_write(delta: timedelta, text: str) -> None:
    """Whole weeks print as weeks; the rest as days and time."""
    assert format_duration(delta) == text


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=4), "PT4H"),
        (timedelta(days=1, hours=12), "P1DT12H"),
        (timedelta(days=7, hours=1), "P7DT1H"),
    ],
)
def test_format_duration_keeps_whole_hours(delta: timedelta, text: str) -> None:
    """Hours are printed, and a week plus some hours is not shortened to whole weeks."""
    assert format_duration(delta) == text


@given(st.integers(min_value=0, max_value=400 * 86400).map(lambda s: timedelta(seconds=s)))
def test_format_then_parse_returns_the_same_duration(delta: timedelta) -> None:
    """format_duration is the inverse of parse_duration for non-negative whole seconds."""
    assert parse_duration(format_duration(delta)) == delta
