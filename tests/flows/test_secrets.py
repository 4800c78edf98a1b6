"""secret() lookup as open-source Kestra does it, and masking of resolved values."""

from __future__ import annotations

import base64

import pytest
from pydantic import SecretStr

from kestra_airflow_sdk.flows import FlowError, SecretNotFoundError
from kestra_airflow_sdk.flows.secrets import MASK, SecretResolver, mask_like, reveal


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_given_secrets_win_over_the_environment() -> None:
    resolver = SecretResolver({"Token": "given"}, environ={"SECRET_TOKEN": b64("from-env")})
    assert resolver.resolve("TOKEN").get_secret_value() == "given"
    assert resolver.resolve("token").get_secret_value() == "given"


def test_environment_values_are_base64_decoded_case_insensitively() -> None:
    resolver = SecretResolver(environ={"SECRET_AIRFLOW_PASSWORD": b64("pä$$ wörd")})
    assert resolver.resolve("airflow_password").get_secret_value() == "pä$$ wörd"
    assert SecretResolver(environ={"secret_lower": b64("x")}).resolve("LOWER").get_secret_value() == "x"


def test_bad_base64_is_a_clear_error_without_the_value() -> None:
    with pytest.raises(FlowError) as err:
        SecretResolver(environ={"SECRET_X": "not base64!!"}).resolve("x")
    assert "SECRET_X" in str(err.value) and "base64" in str(err.value)
    assert "not base64!!" not in str(err.value)


def test_missing_secret() -> None:
    with pytest.raises(SecretNotFoundError) as err:
        SecretResolver(environ={}).resolve("nope", "task 't', property headers.X")
    assert "'nope'" in str(err.value) and "task 't', property headers.X" in str(err.value)


def test_resolver_repr_shows_names_not_values() -> None:
    assert "v4lue" not in repr(SecretResolver({"a": "v4lue"}))


def test_reveal_and_mask_like() -> None:
    sent = {"token": SecretStr("t0k"), "plain": "p", "nested": [SecretStr("n"), 1]}
    assert reveal(sent) == {"token": "t0k", "plain": "p", "nested": ["n", 1]}
    received = {"token": "t0k", "plain": "p", "nested": ["n", 1], "extra": True}
    assert mask_like(sent, received) == {"token": MASK, "plain": "p", "nested": [MASK, 1], "extra": True}


def test_redact_masks_every_resolved_value_in_all_its_encodings() -> None:
    from urllib.parse import quote

    from kestra_airflow_sdk.flows.secrets import MASK, SecretResolver

    resolver = SecretResolver({"A": 'p@ss w"rd/1'}, environ={})
    before = resolver.redact('p@ss w"rd/1')
    assert before == 'p@ss w"rd/1'  # nothing resolved yet: nothing to hide
    resolver.resolve("a")
    value = 'p@ss w"rd/1'
    import base64
    import json

    text = " | ".join(
        [value, json.dumps(value), quote(value, safe=""), base64.b64encode(value.encode()).decode()]
    )
    redacted = resolver.redact(text)
    assert value not in redacted and quote(value, safe="") not in redacted
    assert base64.b64encode(value.encode()).decode() not in redacted
    assert redacted.count(MASK) == 4
    assert "p@ss" not in repr(resolver)
