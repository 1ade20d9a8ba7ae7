"""Cron variables (docs/contract.md, section 5: configuration by environment variable, the
README lists them): every five-field cron Dagster's schedules take, and nothing else.

Pure settings parsing: `load_configuration` reads a mapping, no Dagster run and no
PostgreSQL."""

import pytest

from pipelines.configuration import load_configuration
from warehouse.settings import ConfigurationError


@pytest.mark.parametrize("cron", ["0 3 * * MON", "*/15 6-18 * * 1-5", "0 1 1 JAN *", "0 3 * * *"])
def test_a_valid_five_field_cron_is_accepted_as_written(cron):
    settings = load_configuration({"ANALYTICS_FRESHNESS_CRON": cron}).settings
    assert settings.freshness_cron == cron


@pytest.mark.parametrize("cron", ["0 3 * *", "61 3 * * *", "0 0 3 * * *", "daily"])
def test_anything_else_is_refused_naming_the_variable_and_the_value(cron):
    with pytest.raises(ConfigurationError) as refused:
        load_configuration({"ANALYTICS_FRESHNESS_CRON": cron})
    assert str(refused.value) == (
        "ANALYTICS_FRESHNESS_CRON must be a five-field cron expression such as '0 1 * * *', "
        f"got {cron!r}"
    )
