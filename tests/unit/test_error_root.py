"""One exception root: every SDK error family derives from KestraAirflowError."""

from __future__ import annotations

import pytest

import kestra_airflow_sdk as sdk
from kestra_airflow_sdk.kestra import KestraConnectionError


def test_every_public_error_class_has_the_one_root() -> None:
    errors = [
        getattr(sdk, name)
        for name in sdk.__all__
        if isinstance(getattr(sdk, name), type)
        and issubclass(getattr(sdk, name), Exception)
        and not issubclass(getattr(sdk, name), Warning)  # DagPausedWarning is a warning, not an error
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
    assert isinstance(caught.value, sdk.InvalidArgumentError)
    assert "base_url" in str(caught.value)
