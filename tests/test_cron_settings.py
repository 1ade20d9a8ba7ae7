"""Cron variables: every five-field cron Dagster's schedules take, and nothing else."""

import pytest

from warehouse.settings import ConfigurationError, parse_cron


@pytest.mark.parametrize("cron", ["0 3 * * MON", "*/15 6-18 * * 1-5", "0 1 1 JAN *", "0 3 * * *"])
def test_a_valid_five_field_cron_is_accepted_as_written(cron):
    assert parse_cron(cron, "ANALYTICS_FRESHNESS_CRON") == cron


@pytest.mark.parametrize("cron", ["0 3 * *", "61 3 * * *", "0 0 3 * * *", "daily"])
def test_anything_else_is_refused_naming_the_variable_and_the_value(cron):
    with pytest.raises(ConfigurationError) as refused:
        parse_cron(cron, "ANALYTICS_FRESHNESS_CRON")
    assert str(refused.value) == (
        "ANALYTICS_FRESHNESS_CRON must be a five-field cron expression such as '0 1 * * *', "
        f"got {cron!r}"
    )
