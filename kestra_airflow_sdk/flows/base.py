"""The base of every Kestra-facing model: snake_case in Python, Kestra's camelCase in YAML.

* ``alias_generator=to_camel`` + ``populate_by_name``: ``TriggerDagRun(dag_id=...)`` in Python,
  ``dagId`` in YAML, from one definition.
* Only what was set is exported, in the order a loaded document had (else the class order, with
  ``id`` and ``type`` first), so a Kestra document loads and exports back unchanged.
* Credentials live in :class:`pydantic.SecretStr` (masked in every ``repr``); the YAML export is the
  one place that writes their text (an expression such as ``{{ secret('X') }}`` or a literal).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    PlainSerializer,
    PrivateAttr,
    SecretStr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .validation import describe_errors, flow_error

__all__ = ["KestraModel", "SecretText", "dump_context"]

#: serialisation context of the YAML export: secret fields write their text instead of a mask
REVEAL = "kestra_airflow_sdk.reveal"


def dump_context() -> dict[str, bool]:
    """The ``context=`` to pass to ``model_dump`` to get a document Kestra can read."""
    return {REVEAL: True}


def _secret_text(value: SecretStr, info: SerializationInfo) -> str:
    context = info.context or {}
    return value.get_secret_value() if context.get(REVEAL) else str(value)


#: a credential property: masked in repr and in plain dumps, written as is in the YAML export
SecretText = Annotated[SecretStr, PlainSerializer(_secret_text, return_type=str)]


class KestraModel(BaseModel):
    """A Kestra document node: camelCase aliases, unknown keys rejected, document key order kept."""

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise flow_error(describe_errors(exc, data)) from None
        self._document_keys = None  # built in Python: export in the class's order

    # validation (model_validate, nested models) must not go through this __init__: pydantic
    # then reports nested errors itself, with their full location
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_default=True,
        arbitrary_types_allowed=False,
        defer_build=True,
    )

    #: keys written first when a model built in Python is exported
    _head: ClassVar[tuple[str, ...]] = ()
    #: key order of the document this node was loaded from (aliases as written)
    _document_keys: tuple[str, ...] | None = PrivateAttr(default=None)
    #: keys the document spelled in an accepted older form (``maxAttempt``): exported alias -> as written
    _spellings: dict[str, str] | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_key_order(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        model = handler(data)
        if isinstance(data, dict) and isinstance(model, KestraModel):
            model._document_keys = tuple(cls._alias_of(str(key)) for key in data)
            spellings = {
                cls._alias_of(str(key)): str(key) for key in data if cls._is_older_spelling(str(key))
            }
            model._spellings = spellings or None
        return model

    @classmethod
    def _is_older_spelling(cls, key: str) -> bool:
        """An accepted spelling of a field other than its alias and its Python name."""
        for name, info in cls.model_fields.items():
            choices = info.validation_alias
            if isinstance(choices, AliasChoices) and key in choices.choices:
                return key not in (name, info.alias)
        return False

    @classmethod
    def _alias_of(cls, key: str) -> str:
        """The exported name of a document key (field name, alias or an accepted older spelling)."""
        field = cls.model_fields.get(key)
        if field is not None and field.alias:
            return field.alias
        for name, info in cls.model_fields.items():
            choices = info.validation_alias
            if isinstance(choices, AliasChoices) and key in choices.choices:
                return info.alias or name
        return key

    @model_serializer(mode="wrap")
    def _ordered(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        dumped = handler(self)
        if not isinstance(dumped, dict) or not info.by_alias:
            return dumped
        order = self._document_keys or self._class_order()
        rank = {key: i for i, key in enumerate(order)}
        ordered = dict(sorted(dumped.items(), key=lambda item: rank.get(item[0], len(rank))))
        if self._spellings:  # written back as the document spelled it
            ordered = {self._spellings.get(key, key): value for key, value in ordered.items()}
        return ordered

    @classmethod
    def _class_order(cls) -> tuple[str, ...]:
        aliases = [field.alias or name for name, field in cls.model_fields.items()]
        head = [cls._alias_of(name) for name in cls._head]
        return (*head, *(a for a in aliases if a not in head))

    def __eq__(self, other: object) -> bool:
        """Equal when of the same class with the same values (document key order is ignored)."""
        if not isinstance(other, BaseModel):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.__dict__ == other.__dict__
            and self.__pydantic_extra__ == other.__pydantic_extra__
        )

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """The Kestra document of this node (camelCase keys, only what was set, secrets as written)."""
        result = self.model_dump(
            mode="json", by_alias=True, exclude_unset=True, context=dump_context(), round_trip=True
        )
        assert isinstance(result, dict)
        return result
