"""One exception root: every SDK error family derives from KestraAirflowError."""

from __future__ import annotations

import pytest

import kestra_airflow_sdk as sdk
from kestra_airflow_sdk import airflow, display, flows, kestra, migration, runner
from kestra_airflow_sdk.airflow import InvalidArgumentError
from kestra_airflow_sdk.kestra import KestraConnectionError


def test_every_public_error_class_has_the_one_root() -> None:
    public = [
        getattr(package, name)
        for package in (sdk, airflow, flows, runner, kestra, display, migration)
        for name in package.__all__
    ]
    errors = [
        thing
        for thing in public
        if isinstance(thing, type)
        and issubclass(thing, Exception)
        and not issubclass(thing, Warning)  # DagPausedWarning is a warning, not an error
    ]
    names = {e.__name__ for e in errors}
    assert {
        "AirflowError",
        "FlowError",
        "KestraError",
        "InvalidArgumentError",
        "SecretNotFoundError",
    } <= names
    assert [e.__name__ for e in errors if not issubclass(e, sdk.KestraAirflowError)] == []
    assert issubclass(KestraConnectionError, sdk.KestraAirflowError)


def test_catching_the_root_catches_a_real_sdk_error() -> None:
    with pytest.raises(sdk.KestraAirflowError) as caught:
        sdk.AirflowClient("not a url")
    assert isinstance(caught.value, InvalidArgumentError)
    assert "base_url" in str(caught.value)
