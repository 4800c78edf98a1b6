from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kestra_airflow_sdk.flows import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT1S", timedelta(seconds=1)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("PT5M", timedelta(minutes=5)),
        ("PT1H30M", timedelta(minutes=90)),
        ("P1D", timedelta(days=1)),
        ("P2DT3H4M5S", timedelta(days=2, hours=3, minutes=4, seconds=5)),
        ("pt1m", timedelta(minutes=1)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["1s", "PT", "P", "PT1", "P1H", "PT1S2M", "T1S", " ", "PT1.S"])
def test_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601 duration"):
        parse_duration(bad)


def test_format_examples() -> None:
    assert format_duration(timedelta(seconds=1)) == "PT1S"
    assert format_duration(timedelta(hours=1)) == "PT1H"
    assert format_duration(timedelta(0)) == "PT0S"
    assert format_duration(timedelta(days=1, seconds=61)) == "P1DT1M1S"
    with pytest.raises(ValueError, match="non-negative"):
        format_duration(timedelta(seconds=-1))


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3000)))
def test_format_parse_round_trip(value: timedelta) -> None:
    value = timedelta(seconds=round(value.total_seconds(), 3))
    assert abs(parse_duration(format_duration(value)) - value) < timedelta(microseconds=2)
