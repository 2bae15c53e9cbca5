"""A static reading of a Terraform module, enough to tell who is granted what without providers or a network.

``hcl2`` parses each ``.tf`` file; ``TerraformModule`` merges a folder's files. ``Evaluator`` then evaluates the
few expression shapes this project's IAM resources use, as *sets of possible values*: ``for_each`` over a literal
local (map, list or ``toset([...])``), and ``each.key``, ``each.value.x``, ``local.m[...]``, ``var.x`` (default) and
resource references inside strings; ``for`` expressions without ``if`` (``[for v in X : ...]``,
``{for k, v in X : key => value}``) over a collection that evaluates to one value, ``flatten(...)``, object literals
and quoted templates, enough for a grant table derived from a literal local. A reference to another resource's
attribute becomes a symbol such as
``<google_service_account.platform[connect].email>``; an index that cannot be evaluated over a literal map stands for
every value of the map (an over-approximation). Anything else raises ``Unresolvable``, and the checks treat that as
the worst case, so an unfamiliar construct fails the build instead of slipping past it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import hcl2

HCL_OPTIONS = hcl2.SerializationOptions(
    explicit_blocks=False, strip_string_quotes=True, with_comments=False, preserve_heredocs=False
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_WHOLE = re.compile(r"\$\{(.*)\}", re.DOTALL)


class Unresolvable(Exception):
    """An expression this reader does not evaluate."""


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    body: Mapping[str, Any]

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"


@dataclass(frozen=True)
class Instance:
    """One ``for_each`` instance; ``key`` is None for a resource without ``for_each``."""

    key: Any = None
    value: Any = None
    known: bool = True
    scope: Mapping[str, Any] = field(default_factory=dict)
    """Variables bound by the ``for`` expressions being evaluated."""

    def bind(self, names: Mapping[str, Any]) -> Instance:
        return Instance(self.key, self.value, self.known, {**self.scope, **names})


UNKNOWN_INSTANCE = Instance(known=False)


@dataclass
class TerraformModule:
    resources: dict[tuple[str, str], Resource] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for (t, _), r in sorted(self.resources.items()) if t in types]

    @classmethod
    def parse(cls, *texts: str) -> TerraformModule:
        """A module from HCL texts (the files of one folder, or a snippet in a test)."""
        module = cls()
        for text in texts:
            doc = hcl2.loads(text, serialization_options=HCL_OPTIONS)
            for block in doc.get("locals", []):
                module.locals.update(block)
            for block in doc.get("variable", []):
                for name, body in block.items():
                    module.variables[name] = body.get("default")
            for block in doc.get("resource", []):
                for rtype, named in block.items():
                    for rname, body in named.items():
                        module.resources[(rtype, rname)] = Resource(rtype, rname, body)
        return module

    @classmethod
    def load(cls, folder: Path) -> TerraformModule:
        return cls.parse(*(p.read_text() for p in sorted(folder.glob("*.tf"))))


def split_interpolations(text: str) -> Iterator[tuple[bool, str]]:
    """Yield ``(is_expression, text)`` parts of a template string, balancing braces and skipping quoted text."""
    i, start = 0, 0
    while (i := text.find("${", start)) != -1:
        if i > start:
            yield False, text[start:i]
        depth, j, quoted = 1, i + 2, False
        while j < len(text) and depth:
            ch = text[j]
            if ch == "\\":
                j += 1
            elif ch == '"':
                quoted = not quoted
            elif not quoted and ch == "{":
                depth += 1
            elif not quoted and ch == "}":
                depth -= 1
            j += 1
        yield True, text[i + 2 : j - 1]
        start = j
    if start < len(text):
        yield False, text[start:]


def _chain(expr: str) -> tuple[str, list[tuple[str, str]]]:
    """Split ``a.b["c"][d.e].f`` into its head and ``("attr", name)`` / ``("index", expression)`` steps."""
    match = _IDENT.match(expr)
    if not match:
        raise Unresolvable(expr)
    head, pos, steps = match.group(), match.end(), []
    while pos < len(expr):
        if expr[pos] == "." and (m := _IDENT.match(expr, pos + 1)):
            steps.append(("attr", m.group()))
            pos = m.end()
        elif expr[pos] == "[":
            depth, end = 0, pos
            for end in range(pos, len(expr)):
                depth += {"[": 1, "]": -1}.get(expr[end], 0)
                if depth == 0:
                    break
            if depth:
                raise Unresolvable(expr)
            steps.append(("index", expr[pos + 1 : end]))
            pos = end + 1
        else:
            raise Unresolvable(expr)
    return head, steps


class Evaluator:
    """Evaluates expressions of one module to lists of possible values (see the module docstring)."""

    def __init__(self, module: TerraformModule) -> None:
        self.module = module

    def instances(self, resource: Resource) -> list[Instance]:
        """The resource's instances; ``[UNKNOWN_INSTANCE]`` when its ``for_each`` cannot be evaluated."""
        if "for_each" not in resource.body:
            return [Instance()]
        try:
            (collection,) = self.values(resource.body["for_each"], Instance())
        except (Unresolvable, ValueError):
            return [UNKNOWN_INSTANCE]
        if isinstance(collection, Mapping):
            return [Instance(k, v) for k, v in collection.items()]
        if isinstance(collection, list):
            return [Instance(v, v) for v in collection]
        return [UNKNOWN_INSTANCE]

    def values(self, raw: Any, inst: Instance) -> list[Any]:
        """Possible values of an attribute (a parsed literal or a template string)."""
        if not isinstance(raw, str):
            return [raw]
        parts = list(split_interpolations(raw))
        if len(parts) == 1 and parts[0][0]:
            return self.expression(parts[0][1], inst)
        options = [[text] if not is_expr else self.expression(text, inst) for is_expr, text in parts]
        return ["".join(str(v) for v in combo) for combo in product(*options)]

    def expression(self, expr: str, inst: Instance) -> list[Any]:
        expr = expr.strip().replace('\\"', '"')
        if re.fullmatch(r'"[^"$]*"', expr):
            return [expr[1:-1]]
        compound = self._compound(expr, inst)
        if compound is not None:
            return compound
        head, steps = _chain(expr)
        if head in inst.scope:
            return self._navigate([inst.scope[head]], steps, inst)
        if head == "each":
            if not inst.known or not steps or steps[0] not in (("attr", "key"), ("attr", "value")):
                raise Unresolvable(expr)
            start = inst.key if steps[0][1] == "key" else inst.value
            return self._navigate([start], steps[1:], inst)
        if head == "local" and steps and steps[0][0] == "attr":
            if steps[0][1] not in self.module.locals:
                raise Unresolvable(expr)
            return self._navigate(self.values(self.module.locals[steps[0][1]], Instance()), steps[1:], inst)
        if head == "var" and steps and steps[0][0] == "attr":
            default = self.module.variables.get(steps[0][1])
            if default is None:
                raise Unresolvable(expr)
            return self._navigate([default], steps[1:], inst)
        return self._reference(head, steps, inst)

    def _compound(self, expr: str, inst: Instance) -> list[Any] | None:
        """Templates, collections and the few functions understood; ``None`` for anything else."""
        if _enclosed(expr, '"', '"'):
            return self.values(expr[1:-1], inst)
        if _enclosed(expr, "[", "]") or _enclosed(expr, "{", "}"):
            return self._collection(expr, inst)
        if expr.startswith("flatten(") and _enclosed(expr[len("flatten") :], "(", ")"):
            return [_flatten(self._single(expr[len("flatten(") : -1], inst))]
        if m := re.fullmatch(r"to(?:set|list)\((\[.*\])\)", expr, re.DOTALL):
            try:
                return [json.loads(m.group(1))]
            except json.JSONDecodeError as e:
                raise Unresolvable(expr) from e
        return None

    def _single(self, expr: str, inst: Instance) -> Any:
        """The one value of ``expr``; ``Unresolvable`` if it may take several."""
        found = self.expression(expr, inst)
        if len(found) != 1:
            raise Unresolvable(expr)
        return found[0]

    def _collection(self, expr: str, inst: Instance) -> list[Any]:
        """``[for ...]``, ``{for ...}`` or an object literal ``{a = x, "b" = y}``."""
        inner = expr[1:-1].strip()
        if re.match(r"for\s", inner):
            return [self._for(expr[0], inner, inst)]
        if expr[0] == "[":
            raise Unresolvable(expr)  # list literals arrive parsed; a list in an expression is not needed yet
        result = {}
        for item in _split_top(inner, ","):
            if not item.strip():
                continue
            key, value = _split_assignment(item)
            result[key] = self._single(value, inst)
        return [result]

    def _for(self, kind: str, inner: str, inst: Instance) -> Any:
        header, body = _split_once(inner, ":")
        m = re.fullmatch(r"for\s+(\w+)(?:\s*,\s*(\w+))?\s+in\s+(.+)", header.strip(), re.DOTALL)
        if m is None or _top_level_match(body, r"\sif\s|\?|\.\.\.\s*$"):
            raise Unresolvable(inner)  # filters, conditionals and grouping are not evaluated
        first, second, source = m.groups()
        collection = self._single(source, inst)
        if isinstance(collection, Mapping):
            items = list(collection.items())
        elif isinstance(collection, list):
            items = list(enumerate(collection))
        else:
            raise Unresolvable(source)
        scopes = [inst.bind({first: k, second: v} if second else {first: v}) for k, v in items]
        if kind == "[":
            return [self._single(body, scope) for scope in scopes]
        key_expr, value_expr = _split_once(body, "=>")
        result: dict[Any, Any] = {}
        for scope in scopes:
            key = self._single(key_expr, scope)
            if key in result:
                raise Unresolvable(f"duplicate key {key}")
            result[key] = self._single(value_expr, scope)
        return result

    def _navigate(self, starts: list[Any], steps: list[tuple[str, str]], inst: Instance) -> list[Any]:
        current = starts
        for kind, text in steps:
            following: list[Any] = []
            for value in current:
                if not isinstance(value, Mapping):
                    raise Unresolvable(text)
                if kind == "attr":
                    keys = [text]
                else:
                    try:
                        keys = self.expression(text, inst)
                    except Unresolvable:
                        keys = list(value)  # any key of a literal map: over-approximate
                following += [value[k] for k in keys if k in value]
            if current and not following:
                raise Unresolvable(text)
            current = following
        return current

    def _reference(self, head: str, steps: list[tuple[str, str]], inst: Instance) -> list[Any]:
        """``type.name[key].attr``: the attribute's own value if the module sets it literally, else a symbol."""
        if head == "data":
            return [f"<data.{'.'.join(t for _, t in steps)}>"]
        if not steps or steps[0][0] != "attr":
            raise Unresolvable(head)
        rtype, rname, rest = head, steps[0][1], steps[1:]
        keys: list[Any] = [None]
        if rest and rest[0][0] == "index":
            keys = self.expression(rest[0][1], inst)
            rest = rest[1:]
        attr = ".".join(t for kind, t in rest if kind == "attr")
        resource = self.module.resources.get((rtype, rname))
        results: list[Any] = []
        for key in keys:
            if resource is not None and attr in resource.body and isinstance(resource.body[attr], str):
                matching = [i for i in self.instances(resource) if i.key == key] or [Instance(key, None)]
                results += self.values(resource.body[attr], matching[0])
            else:
                index = "" if key is None else f"[{key}]"
                results.append(f"<{rtype}.{rname}{index}.{attr}>")
        return results


# --- Scanning expressions: nesting and strings ------------------------------------------------------------------

_CLOSERS = {"(": ")", "[": "]", "{": "}", "${": "}"}


def _top_level(text: str) -> Iterator[int]:
    """Indexes of the characters of ``text`` outside brackets, braces, parentheses and strings."""
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch, top = text[i], stack[-1] if stack else None
        if top == '"':
            if ch == "\\":
                i += 2
                continue
            if text.startswith("${", i):
                stack.append("${")
                i += 2
                continue
            if ch == '"':
                stack.pop()
        elif ch == '"':
            stack.append('"')
        elif ch in "([{":
            stack.append(ch)
        elif ch in ")]}":
            if not stack or _CLOSERS[stack.pop()] != ch:
                raise Unresolvable(text)
        elif not stack:
            yield i
        i += 1
    if stack:
        raise Unresolvable(text)


def _enclosed(expr: str, opener: str, closer: str) -> bool:
    """Whether ``expr`` is one bracketed (or quoted) part from its first character to its last."""
    if len(expr) < 2 or not expr.startswith(opener) or not expr.endswith(closer):
        return False
    wrapped = f"x{expr}"  # a bracket closed before the end would leave some of expr at the top level
    try:
        return list(_top_level(wrapped)) == [0]
    except Unresolvable:
        return False


def _split_top(text: str, separator: str) -> list[str]:
    parts, start = [], 0
    for i in _top_level(text):
        if i >= start and text.startswith(separator, i):
            parts.append(text[start:i])
            start = i + len(separator)
    return [*parts, text[start:]]


def _split_once(text: str, separator: str) -> tuple[str, str]:
    parts = _split_top(text, separator)
    if len(parts) < 2:
        raise Unresolvable(text)
    return parts[0], separator.join(parts[1:])


def _top_level_match(text: str, pattern: str) -> bool:
    top = set(_top_level(text))
    return any(m.start() in top for m in re.finditer(pattern, text))


def _split_assignment(item: str) -> tuple[str, str]:
    """``key = value`` (or ``"key" = value``) of an object literal."""
    m = re.fullmatch(r'\s*("[^"]*"|[A-Za-z_][\w-]*)\s*=(?![=>])(.*)', item, re.DOTALL)
    if m is None:
        raise Unresolvable(item)
    return m.group(1).strip('"'), m.group(2)


def _flatten(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise Unresolvable("flatten of a non-list")
    return [leaf for item in value for leaf in (_flatten(item) if isinstance(item, list) else [item])]
