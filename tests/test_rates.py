"""Throttle rates as people write them in the environment."""

import pytest

from platform.throttling import Rate, parse_rate


@pytest.mark.parametrize(
    ("text", "rate"),
    [("5/hour", Rate(5, 3600)), ("10/15m", Rate(10, 900)), ("60/min", Rate(60, 60)), ("2/d", Rate(2, 86400))],
)
def test_a_rate_reads_as_a_count_per_window(text, rate):
    assert parse_rate(text) == rate


def test_off_means_no_limit():
    assert parse_rate("off") is None


@pytest.mark.parametrize("text", ["lots", "5", "5/", "0/hour", "5/0m", "x/hour", "5/fortnight"])
def test_a_typo_is_refused(text):
    with pytest.raises(ValueError, match="N/period"):
        parse_rate(text)
