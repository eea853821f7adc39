"""Safe YAML reading that keeps line numbers and refuses what a pack never needs.

PyYAML's ``SafeLoader`` builds plain Python values; we add three things on top:

* every mapping and list remembers the line of each of its entries (``LineMap``/``LineList``),
  so a validation error deep in a rule can name its line;
* a key written twice in one mapping is an error (YAML allows it silently);
* anchors and aliases (``&x`` / ``*x``) are refused, which also defuses "billion laughs"
  alias bombs before anything is expanded.

Input size and encoding are checked before parsing, so the caller never sees a traceback.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from rules.errors import PackError, PackRejected

MAX_BYTES = 1_000_000


class LineMap(dict[Any, Any]):
    """A dict that also knows the line of itself and of each key."""

    line: int
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A list that also knows the line of itself and of each item."""

    line: int
    item_lines: list[int]


def _fail(filename: str, message: str, line: int | None = None) -> PackRejected:
    return PackRejected([PackError(file=filename, message=message, line=line)])


MAX_DEPTH = 50  # a pack nests a handful of levels; 50,000 used to exhaust the stack


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and anchors, and nesting deeper than MAX_DEPTH."""

    depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
            raise _AnchorRefused(event.start_mark.line + 1)
        if self.depth >= MAX_DEPTH:
            raise _TooDeep(event.start_mark.line + 1)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _AnchorRefused(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


class _TooDeep(_AnchorRefused):
    """Nesting deeper than MAX_DEPTH (the line where it went too deep)."""


def decode(data: bytes | str, filename: str, max_bytes: int = MAX_BYTES) -> str:
    """Return the text of ``data``, refusing oversized or non-UTF-8 input.

    Args:
        data: raw file content, or text already decoded by the caller.
        filename: used only in messages.
        max_bytes: the size limit, checked before any parsing.

    Raises:
        PackRejected: too large, or not valid UTF-8 (naming the line of the first bad byte).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        return _raise(
            _fail(
                filename,
                f"file is {len(raw):,} bytes; packs are limited to {max_bytes:,} bytes "
                f"({max_bytes / 1_000_000:g} MB). Split it into smaller packs.",
            )
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return _raise(
            _fail(
                filename,
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8.",
                line,
            )
        )
    return text.removeprefix("\ufeff")


def _raise(exc: PackRejected) -> str:
    raise exc


def load(data: bytes | str, filename: str, max_bytes: int = MAX_BYTES) -> Any:
    """Parse one YAML document into plain values with line information.

    Args:
        data: the file content (bytes or text).
        filename: used only in messages.
        max_bytes: size limit checked before parsing.

    Returns:
        ``LineMap``/``LineList``/scalars; ``None`` for an empty document.

    Raises:
        PackRejected: with one problem naming the line, for any syntax problem.
    """
    text = decode(data, filename, max_bytes)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise _fail(
            filename,
            f"contains a control character (#x{exc.character:04x}) that YAML does not allow; "
            "remove it.",
            line,
        ) from None
    except _TooDeep as exc:
        raise _fail(
            filename,
            f"nested more than {MAX_DEPTH} levels deep; no pack needs that many.",
            exc.line,
        ) from None
    except _AnchorRefused as exc:
        raise _fail(
            filename,
            "anchors and aliases (& and *) are not allowed in packs; write each value out.",
            exc.line,
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_problem(filename, text, exc) from None
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML raises marked errors for text
        raise _fail(filename, f"not valid YAML: {exc}") from None
    if node is None:
        return None
    return _Builder(filename).build(node)


def _syntax_problem(filename: str, text: str, exc: yaml.MarkedYAMLError) -> PackRejected:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = exc.problem or str(exc)
    if "'\\t'" in problem or "tab" in problem.lower():
        return _fail(filename, "tab character in indentation; indent with spaces only.", line)
    if line is not None:
        lines = text.splitlines()
        if 0 < line <= len(lines) and "\t" in lines[line - 1]:
            return _fail(filename, "tab character in indentation; indent with spaces only.", line)
    context = f" ({exc.context})" if exc.context else ""
    return _fail(filename, f"not valid YAML: {problem}{context}.", line)


class _Builder:
    """Turns composed nodes into values, checking duplicate keys."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.constructor = yaml.SafeLoader("")  # reuse PyYAML's scalar resolution

    def build(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            try:
                return self.constructor.construct_object(node, deep=True)
            except (ValueError, yaml.YAMLError):
                # e.g. 2026-02-30 matches YAML's timestamp pattern but is no real date: keep the
                # text, so validation reports it (with every other problem) where a date belongs
                return str(node.value)
        if isinstance(node, SequenceNode):
            out = LineList()
            out.line = node.start_mark.line + 1
            out.item_lines = []
            for item in node.value:
                out.append(self.build(item))
                out.item_lines.append(item.start_mark.line + 1)
            return out
        if isinstance(node, MappingNode):
            result = LineMap()
            result.line = node.start_mark.line + 1
            result.key_lines = {}
            for key_node, value_node in node.value:
                key = self.build(key_node)
                line = key_node.start_mark.line + 1
                if not isinstance(key, Hashable) or isinstance(key, (LineMap, LineList)):
                    raise _fail(self.filename, "a mapping key must be a plain value.", line)
                if key in result:
                    first = result.key_lines[key]
                    raise _fail(
                        self.filename,
                        f"key '{key}' appears twice in the same mapping (first on line "
                        f"{first}); keep one.",
                        line,
                    )
                result[key] = self.build(value_node)
                result.key_lines[key] = line
            return result
        raise _fail(self.filename, "unsupported YAML node.", node.start_mark.line + 1)


def line_of(root: Any, loc: tuple[int | str, ...]) -> int | None:
    """Return the line of the deepest part of ``loc`` that exists in ``root``.

    Args:
        root: a value returned by :func:`load`.
        loc: a path of keys and indexes, as pydantic reports error locations.
    """
    line: int | None = getattr(root, "line", None)
    node = root
    for part in loc:
        if isinstance(node, LineMap):
            key = _match_key(node, part)
            if key is None:
                return line
            line = node.key_lines.get(key, line)
            node = node[key]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            return line
    return line


def _match_key(node: LineMap, part: int | str) -> Any:
    if part in node:
        return part
    for key in node:  # pydantic reports int keys of published maps as strings
        if str(key) == str(part):
            return key
    return None


def walk(root: Any, loc: tuple[int | str, ...]) -> Iterator[Any]:
    """Yield each value along ``loc`` inside ``root`` (stops where the path ends)."""
    node = root
    for part in loc:
        if isinstance(node, dict):
            key = _match_key(node, part) if isinstance(node, LineMap) else part
            if key is None or key not in node:
                return
            node = node[key]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return
        yield node
