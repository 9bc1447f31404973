"""YAML text -> plain Python values plus a Span for every key and value.

PyYAML's composer gives node marks (line, column) but its constructor throws them
away, silently lets a repeated key win, and expands aliases without bound. So we
compose the node graph ourselves and build values from it:

* every mapping key and value gets a :class:`~dqgate.span.Span`, keyed by its path
  (a tuple of keys and list indices), so pydantic error locations map to positions;
* a repeated key in one mapping is an error, not an override;
* alias expansion is budgeted (``MAX_NODES``), so a "billion laughs" file is refused
  after a bounded amount of work instead of exhausting memory;
* booleans follow YAML 1.2 (only true/false), so ``in: [NO, SE]`` stays two
  country codes instead of turning Norway into ``False``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from dqgate.errors import ContractError
from dqgate.span import Span

MAX_NODES = 100_000
Path = tuple[str | int, ...]


class _PyLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (true/false only); its syntax error messages are the ones we show."""


class _Loader(getattr(yaml, "CSafeLoader", _PyLoader)):  # type: ignore[misc]
    """The same on libyaml's C parser when PyYAML has it: ~20x faster, which keeps `dq lint` quick."""


for _cls in (_PyLoader, _Loader):
    _cls.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _cls.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )


@dataclass
class Document:
    """A loaded YAML document: its value tree and where each part of it was written."""

    file: str
    value: Any
    value_spans: dict[Path, Span] = field(default_factory=dict)
    key_spans: dict[Path, Span] = field(default_factory=dict)
    text: str = ""

    def span(self, path: Path) -> Span:
        """The best-known position for ``path``: its key, else its value, else its nearest parent."""
        p = tuple(path)
        while p:
            if p in self.key_spans:
                return self.key_spans[p]
            if p in self.value_spans:
                return self.value_spans[p]
            p = p[:-1]
        return self.value_spans.get((), Span(self.file, 1, 1))


def _mark_span(file: str, mark: yaml.Mark | None) -> Span:
    if mark is None:
        return Span(file, 1, 1)
    return Span(file, mark.line + 1, mark.column + 1)


_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:omap")
# Scalar tags whose constructor returns the value at once (not a generator filled in
# later): for them construct_object's cycle and identity bookkeeping is pure cost, and
# a contract is thousands of such scalars. Any other tag goes through construct_object.
_PLAIN_SCALARS = {
    f"tag:yaml.org,2002:{tag}": yaml.SafeLoader.yaml_constructors[f"tag:yaml.org,2002:{tag}"]
    for tag in ("str", "int", "float", "bool", "null")
}


class _Builder:
    def __init__(self, file: str, loader: _Loader) -> None:
        self.file = file
        self.loader = loader
        self.doc = Document(file, None)
        self.budget = MAX_NODES
        self.merged: dict[int, int] = {}  # id(mapping node) -> how many leading pairs came from '<<'

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise ContractError(
                f"the YAML expands to more than {MAX_NODES:,} nodes (an alias bomb?); refusing to load it",
                span=_mark_span(self.file, node.start_mark),
            )
        mark = node.start_mark
        self.doc.value_spans[path] = Span(self.file, mark.line + 1, mark.column + 1)
        if len(path) > 200:  # only an alias that contains itself nests this deep
            raise ContractError("the YAML nests more than 200 levels deep (a recursive alias?)", span=_mark_span(self.file, node.start_mark))
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _COLLECTION_TAGS:
            raise ContractError(f"YAML tag '{node.tag}' is not supported", span=_mark_span(self.file, node.start_mark))
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            if id(node) not in self.merged:
                own = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
                self.loader.flatten_mapping(node)
                self.merged[id(node)] = len(node.value) - own
            explicit: set[str] = set()
            for index, (key_node, value_node) in enumerate(node.value):
                if not isinstance(key_node, yaml.ScalarNode):
                    raise ContractError("mapping keys must be plain scalars", span=_mark_span(self.file, key_node.start_mark))
                key = self.scalar(key_node)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    raise ContractError("mapping keys must be plain scalars", span=_mark_span(self.file, key_node.start_mark))
                key = str(key) if not isinstance(key, str) else key
                if index < self.merged[id(node)]:
                    if key in out:
                        continue  # '<<' merges: the first mapping that gives a key wins
                elif key not in explicit and key in out:
                    explicit.add(key)  # a key written here overrides the merged one
                elif key in out:
                    first = self.doc.key_spans[(*path, key)]
                    raise ContractError(
                        f"duplicate key '{key}' (first given at line {first.line})",
                        span=_mark_span(self.file, key_node.start_mark),
                        key=key,
                    )
                else:
                    explicit.add(key)
                mark = key_node.start_mark
                self.doc.key_spans[(*path, key)] = Span(self.file, mark.line + 1, mark.column + 1)
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise ContractError("expected a plain value here", span=_mark_span(self.file, node.start_mark))
        plain = _PLAIN_SCALARS.get(node.tag)
        try:
            if plain is not None:  # what construct_object would call, without its bookkeeping
                return plain(self.loader, node)
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError:
            raise
        except Exception as exc:  # `!!int x`, `!!bool maybe`, `!!timestamp 2024-13-45`, 5,000 digits
            tag = node.tag.rsplit(":", 1)[-1]
            why = str(exc).split(";")[0].split("\n")[0]
            msg = f"cannot read {node.value[:40]!r} as a YAML {tag} ({why})"
            raise ContractError(msg, span=_mark_span(self.file, node.start_mark)) from None


def _expanded_size(node: yaml.Node, sizes: dict[int, int], depth: int) -> int:
    """How many values the document holds once aliases are expanded, visiting each shared node once.

    An alias is the same node object in the composed graph, so memoising by ``id`` makes
    this linear in the file's size however much it would expand. A node that contains
    itself counts 0 here; the builder reports it as a recursive alias.
    """
    if id(node) in sizes:
        return sizes[id(node)]
    if depth > 200:
        return 0
    if isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_size(v, sizes, depth + 1) for _, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_size(v, sizes, depth + 1) for v in node.value)
    else:
        total = 1
    sizes[id(node)] = total
    return total


MAX_FLOW_DEPTH = 500
_BRACKETS = re.compile(r"[\[\]{}\n]")


def _flow_depth(text: str) -> tuple[int, int] | None:
    """(line, column) where ``[`` / ``{`` brackets first nest deeper than MAX_FLOW_DEPTH, or None.

    Brackets inside quoted strings count too: no real contract has 500 of them open.
    """
    if text.count("[") + text.count("{") <= MAX_FLOW_DEPTH:
        return None
    depth, line, line_start = 0, 1, 0
    for m in _BRACKETS.finditer(text):
        ch = m.group()
        if ch == "\n":
            line, line_start = line + 1, m.end()
        elif ch in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                return line, m.start() - line_start + 1
        else:
            depth = max(0, depth - 1)
    return None


def load_text(text: str, file: str = "<contract>") -> Document:
    """Parse one YAML document with positions.

    Raises:
        ContractError: on a syntax error, a duplicate key, an alias bomb or an empty file.
    """
    deep = _flow_depth(text)
    if deep is not None:  # PyYAML's scanner slows down quadratically long before it recurses too deep
        raise ContractError(f"the YAML nests more than {MAX_FLOW_DEPTH} levels deep; refusing to load it", span=Span(file, *deep))
    loader: Any = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError:
            if isinstance(loader, _PyLoader):
                raise
            loader.dispose()  # re-parse with the pure-Python parser: the same errors, in its familiar words
            loader = _PyLoader(text)
            node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context and exc.context_mark is not None and exc.context_mark is not mark:
            # e.g. a '{' never closed: say where the unfinished part began, not only where parsing gave up
            opened = _mark_span(file, exc.context_mark)
            problem += f" (in {exc.context.removeprefix('while parsing ')} that starts at line {opened.line}, column {opened.col})"
        if "'\\t'" in problem:
            problem += " (indent YAML with spaces, not tabs)"
        raise ContractError(f"YAML syntax error: {problem}", span=_mark_span(file, mark)) from None
    except yaml.YAMLError as exc:
        raise ContractError(f"{file}: YAML error: {exc}") from None
    except RecursionError:  # PyYAML's composer recurses once per level
        raise ContractError(f"{file}: the YAML nests too deeply (thousands of levels); refusing to load it") from None
    finally:
        loader.dispose()
    if node is None:
        raise ContractError("the contract is empty", span=Span(file, 1, 1))
    sizes: dict[int, int] = {}
    if _expanded_size(node, sizes, 0) > MAX_NODES:  # refuse a billion-laughs file before expanding anything
        culprit, seen = node, 1
        for _, value in node.value if isinstance(node, yaml.MappingNode) else ():
            seen += sizes.get(id(value), 0)
            if seen > MAX_NODES:  # the top-level entry that pushes it over: where the bomb is
                culprit = value
                break
        raise ContractError(
            f"the YAML expands to more than {MAX_NODES:,} nodes (an alias bomb?); refusing to load it",
            span=_mark_span(file, culprit.start_mark),
        )
    builder = _Builder(file, loader)
    try:
        value = builder.build(node, ())
    except yaml.constructor.ConstructorError as exc:
        raise ContractError(f"YAML error: {exc.problem}", span=_mark_span(file, exc.problem_mark)) from None
    builder.doc.value = value
    builder.doc.text = text
    return builder.doc


def load_file(path: str) -> Document:
    """Read and parse a contract file.

    Raises:
        ContractError: the file is missing, unreadable, not UTF-8 or not valid YAML.
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise ContractError(f"{path}: contract file not found") from None
    except IsADirectoryError:
        raise ContractError(f"{path}: is a directory, not a contract file") from None
    except OSError as exc:
        raise ContractError(f"{path}: cannot read the contract ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(f"{path}: the contract is not UTF-8 text (byte {exc.start})") from None
    return load_text(text, path)
