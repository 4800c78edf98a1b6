"""Limits that keep a flow from an unknown source from exhausting the machine it is loaded or run on.

Each limit is a module constant, named in the error raised when it is crossed. Where Kestra has a
limit, the SDK's is the same or stricter; the sources are Kestra's ``core/.../serializers/YamlParser.java``
and ``JacksonMapper.java`` (a Jackson ``YAMLFactory`` built with SnakeYAML's default ``LoaderOptions``
and ``JsonParser.Feature.STRICT_DUPLICATE_DETECTION``) and SnakeYAML's ``LoaderOptions`` defaults.

**YAML documents** (:class:`LimitedLoader`, used by :func:`~.yaml_io.load_document`):

- :data:`MAX_DOCUMENT_CHARS`: SnakeYAML's ``codePointLimit`` (3 MiB of code points).
- :data:`MAX_NESTING_DEPTH`: SnakeYAML's ``nestingDepthLimit`` (50); Jackson's own
  ``StreamReadConstraints.maxNestingDepth`` (1000) is looser, so the SDK is stricter than a Kestra
  server that only hits Jackson's.
- :data:`MAX_COLLECTION_ALIASES`: SnakeYAML's ``maxAliasesForCollections`` (50). Jackson's
  ``YAMLParser`` does not expand aliases at all (an alias reads as its anchor's name); the SDK
  expands them as YAML says, and also bounds the expansion with :data:`MAX_ALIAS_NODES` (SDK only:
  50 doubling aliases would otherwise still make 2**50 nodes).
- Repeated keys in one mapping are refused (``STRICT_DUPLICATE_DETECTION``); keys are read as the
  text written (Jackson reads every key as a field name: ``1: a`` gives the key ``"1"``).

**Expressions** (Pebble has none of these limits; Jinja2's sandbox caps ``range`` at 100,000):

- :data:`MAX_RANGE`: items of ``range(a, b)`` / ``a..b``.
- :data:`MAX_TEXT`: characters of a rendered text and of any string a filter, function or
  operator builds; :data:`MAX_ITEMS`: items of a list or map one builds.
- ``render()`` renders again at most 100 times (Kestra's ``MAX_RENDERING``, see
  :data:`~.pebble.renderer.MAX_RENDERING`).

**Runs**: :data:`MAX_SUBFLOW_DEPTH` nested subflow executions (Kestra refuses a flow calling itself
at save; recursion through an expression or other flows is stopped at this depth).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_COLLECTION_ALIASES",
    "MAX_DOCUMENT_CHARS",
    "MAX_ITEMS",
    "MAX_NESTING_DEPTH",
    "MAX_RANGE",
    "MAX_SUBFLOW_DEPTH",
    "MAX_TEXT",
    "LimitedLoader",
    "YamlLimitError",
    "safe_load",
]

#: characters in a YAML document (SnakeYAML ``LoaderOptions.codePointLimit``: 3 * 1024 * 1024)
MAX_DOCUMENT_CHARS = 3 * 1024 * 1024
#: nested mappings and sequences (SnakeYAML ``LoaderOptions.nestingDepthLimit``)
MAX_NESTING_DEPTH = 50
#: aliases to a mapping or a sequence (SnakeYAML ``LoaderOptions.maxAliasesForCollections``)
MAX_COLLECTION_ALIASES = 50
#: nodes the aliases of a document may add once expanded (SDK only)
MAX_ALIAS_NODES = 100_000
#: items of a range (as Jinja2's ``sandbox.MAX_RANGE``; Pebble has no limit)
MAX_RANGE = 100_000
#: characters of a rendered text or of a string an expression builds (4 Mi; Pebble has no limit)
MAX_TEXT = 4 * 1024 * 1024
#: items of a list or map an expression builds (Pebble has no limit)
MAX_ITEMS = 1_000_000
#: nested subflow executions in one run (Kestra has no run-time limit; it refuses direct recursion)
MAX_SUBFLOW_DEPTH = 10


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML document crosses one of the limits above (the message names it)."""


def _is_collection(node: yaml.Node) -> bool:
    return isinstance(node, (yaml.MappingNode, yaml.SequenceNode))


class LimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with SnakeYAML's limits, duplicate keys refused and keys read as text."""

    def __init__(self, stream: str) -> None:
        if len(stream) > MAX_DOCUMENT_CHARS:
            raise YamlLimitError(
                problem=f"the document has {len(stream)} characters, more than the limit of "
                f"{MAX_DOCUMENT_CHARS} (MAX_DOCUMENT_CHARS, as Kestra's YAML parser)"
            )
        super().__init__(stream)
        self._depth = 0
        self._collection_aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            target = self.anchors.get(event.anchor)
            if target is not None and _is_collection(target):
                self._collection_aliases += 1
                if self._collection_aliases > MAX_COLLECTION_ALIASES:
                    raise YamlLimitError(
                        problem=f"more than {MAX_COLLECTION_ALIASES} aliases to a mapping or a list "
                        "(MAX_COLLECTION_ALIASES, as Kestra's YAML parser)",
                        problem_mark=event.start_mark,
                    )
            return super().compose_node(parent, index)  # type: ignore[return-value]
        self._depth += 1
        try:
            if self._depth > MAX_NESTING_DEPTH:
                raise YamlLimitError(
                    problem=f"mappings and lists nested more than {MAX_NESTING_DEPTH} deep "
                    "(MAX_NESTING_DEPTH, as Kestra's YAML parser)",
                    problem_mark=self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
            return super().compose_node(parent, index)  # type: ignore[return-value]
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> yaml.MappingNode:
        node: yaml.MappingNode = super().compose_mapping_node(anchor)
        seen: set[str] = set()
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            if key.value in seen:
                raise ComposerError(
                    None, None, f"the key {key.value!r} is repeated in this mapping", key.start_mark
                )
            seen.add(key.value)
        return node

    def get_single_node(self) -> yaml.Node | None:
        node: yaml.Node | None = super().get_single_node()
        if node is not None and self._collection_aliases:
            _check_expansion(node)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping whose keys are the text written (``1: a`` and ``true: b`` give ``"1"`` and ``"true"``)."""
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConstructorError(
                    None, None, "a mapping key must be text, not a mapping or a list", key_node.start_mark
                )
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a document whose aliases, expanded, add more than :data:`MAX_ALIAS_NODES` nodes."""
    sizes: dict[int, int] = {}
    unique: set[int] = set()

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        unique.add(id(node))
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        sizes[id(node)] = total
        return total

    expanded = size(root)
    if expanded - len(unique) > MAX_ALIAS_NODES:
        raise YamlLimitError(
            problem=f"its aliases expand to {expanded - len(unique)} more nodes, more than the limit "
            f"of {MAX_ALIAS_NODES} (MAX_ALIAS_NODES)",
            problem_mark=root.start_mark,
        )


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` within the limits of :class:`LimitedLoader` (for the ``yaml()`` function)."""
    loader = LimitedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
