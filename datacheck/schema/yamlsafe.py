"""The one YAML parser of datacheck: safe tags only, bounded size, depth and alias expansion.

``yaml.safe_load`` builds no objects but still accepts a 1 KB alias bomb
("billion laughs") that expands to billions of nodes as soon as anything
walks it (validation, printing), nesting deep enough to exhaust the stack,
and duplicate keys (the last silently wins, so a schema can say
``range: [0, 1]`` and, further down, ``range: [0, 255]``). Every YAML file
datacheck reads (schemas with their ``attrs``, normalization statistics)
goes through :func:`load_yaml`, which refuses all three with a YAMLError
naming the line.
"""

from __future__ import annotations

from typing import Any

import yaml

#: Largest YAML text parsed (a schema is a few KB).
MAX_YAML_CHARS = 4 * 1024**2
#: Deepest nesting of collections.
MAX_DEPTH = 64
#: Most alias references (``*name``) in one document.
MAX_ALIASES = 1000
#: Most nodes the document holds once every alias is expanded.
MAX_NODES = 200_000


class YAMLLimitError(yaml.YAMLError):
    """The document passes a size, depth or alias limit (or repeats a key)."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts depth and aliases while composing and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YAMLLimitError(f"more than {MAX_ALIASES} aliases",
                                     self.peek_event().start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YAMLLimitError(f"nested deeper than {MAX_DEPTH} levels",
                                     self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node: Any) -> Any:
        _check_expanded_size(node)
        return super().construct_document(node)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # '<<' merges defaults in; its keys may be overridden
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # unhashable: the constructor reports it
                if duplicate:
                    raise YAMLLimitError(f"duplicate key {str(key)[:80]!r} (the same mapping "
                                         "names it twice; keep one)", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _check_expanded_size(root: Any) -> None:
    """Refuse a node graph holding more than MAX_NODES nodes with every alias expanded."""
    sizes: dict[int, int] = {}
    # Iterative post-order walk: aliases share node objects, so each is sized once.
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[Any] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        if not done:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        total = 1 + sum(sizes.get(id(child), 1) for child in children)
        if total > MAX_NODES:
            raise YAMLLimitError(f"expands to more than {MAX_NODES:,} nodes (aliases that "
                                 "repeat aliases: a YAML bomb)", node.start_mark)
        sizes[id(node)] = total


def load_yaml(text: str) -> Any:
    """Parse YAML with safe tags only, within the size, depth and alias limits.

    Raises yaml.YAMLError (YAMLLimitError for a limit or a duplicate key).

    >>> load_yaml("a: 1")
    {'a': 1}
    """
    if len(text) > MAX_YAML_CHARS:
        raise YAMLLimitError(f"longer than {MAX_YAML_CHARS:,} characters")
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
