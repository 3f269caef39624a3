"""Field by field: how two versions of a request, response or payload differ.

``compare_shapes`` walks two object shapes (``ucloud.lockfile.shapes``) and
names each difference with the rule that judges it, for the direction the
data flows: a request is judged for its senders, a response for its
readers (``ucloud.lockfile.rules`` holds the table and the verdicts)::

    compare_shapes(old_shape, new_shape, "response")
    # [("field `size`", "removed", "response-field-removed")]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

Direction = Literal["request", "response"]
Shape = Mapping[str, Any]
# (where, detail, rule) of one difference.
Found = tuple[str, str, str]

# (narrower, wider): every value of the first is a value of the second.
WIDENINGS = frozenset(
    {
        ("integer", "number"),
        ("integer", "decimal"),
        ("choice", "string"),
        ("email", "string"),
        ("url", "string"),
        ("uuid", "string"),
        ("ip", "string"),
    }
)
_UPPER_LIMITS = ("max_length", "max_value", "max_digits", "decimal_places")
_ALLOWANCES = ("allow_blank", "allow_empty")


def compare_shapes(old: Shape, new: Shape, direction: Direction, path: str = "") -> list[Found]:
    """(where, detail, rule) of every field difference between two object shapes."""
    before = _visible(old.get("fields", {}), direction)
    after = _visible(new.get("fields", {}), direction)
    found: list[Found] = []
    for name in sorted(before.keys() | after.keys()):
        field_path = f"{path}.{name}" if path else name
        where = f"field `{field_path}`"
        if name not in after:
            found.append((where, "removed", f"{direction}-field-removed"))
        elif name not in before:
            found.append(_added(where, after[name], direction))
        else:
            found += compare_fields(before[name], after[name], direction, field_path)
    return found


def _visible(fields: Mapping[str, Shape], direction: Direction) -> dict[str, Shape]:
    # A read-only field is never sent; a write-only one never shown.
    hidden = "read_only" if direction == "request" else "write_only"
    return {name: shape for name, shape in fields.items() if not shape.get(hidden)}


def _added(where: str, shape: Shape, direction: Direction) -> Found:
    if direction == "request" and shape["required"]:
        return where, "added, required", "request-field-added-required"
    return where, "added", f"{direction}-field-added"


def compare_fields(old: Shape, new: Shape, direction: Direction, path: str) -> list[Found]:
    """(where, detail, rule) of every difference between two versions of a field."""
    where = f"field `{path}`"
    found = list(_presence(old, new, direction, where))
    old_limits, new_limits = old.get("limits", {}), new.get("limits", {})
    if old["type"] != new["type"]:
        found.append(_type_change(old["type"], new["type"], direction, where))
        # Limits of one type only (a string's allow_blank) go with the type.
        common = old_limits.keys() & new_limits.keys()
        old_limits = {name: old_limits[name] for name in common}
        new_limits = {name: new_limits[name] for name in common}
    else:
        found += _choices(old, new, direction, where)
        found += _nested(old, new, direction, path)
    found += _limits(old_limits, new_limits, direction, where)
    found += _rules_of_values(old, new, direction, where)
    return found


def _present(shape: Shape) -> bool:
    """A reader always gets the field: required, defaulted or nullable."""
    return bool(shape["required"] or "default" in shape or shape["nullable"])


def _presence(old: Shape, new: Shape, direction: Direction, where: str) -> Iterator[Found]:
    if direction == "request":
        if old["required"] != new["required"]:
            if new["required"]:
                yield where, "now required", "request-field-now-required"
            else:
                yield where, "now optional", "request-field-now-optional"
        if old["nullable"] != new["nullable"]:
            rule = "request-null-allowed" if new["nullable"] else "request-null-refused"
            yield where, "null allowed" if new["nullable"] else "null refused", rule
        optional = not old["required"] and not new["required"]
        if optional and old.get("default", _NONE) != new.get("default", _NONE):
            detail = (
                f"default {_show(old.get('default', _NONE))} -> {_show(new.get('default', _NONE))}"
            )
            yield where, detail, "request-default-changed"
        return
    if _present(old) != _present(new):
        if _present(new):
            yield where, "now always present", "response-field-now-present"
        else:
            yield where, "may now be absent", "response-field-now-optional"
    if old["nullable"] != new["nullable"]:
        rule = "response-field-now-nullable" if new["nullable"] else "response-field-now-non-null"
        yield where, "may now be null" if new["nullable"] else "never null any more", rule


_NONE = object()


def _show(value: Any) -> str:
    return "none" if value is _NONE else repr(value)


def _type_change(old: str, new: str, direction: Direction, where: str) -> Found:
    detail = f"type {old} -> {new}"
    if direction == "request":
        rule = "request-type-widened" if (old, new) in WIDENINGS else "request-type-changed"
    else:
        rule = "response-type-narrowed" if (new, old) in WIDENINGS else "response-type-changed"
    return where, detail, rule


def _choices(old: Shape, new: Shape, direction: Direction, where: str) -> Iterator[Found]:
    lost, gained = differing(old.get("choices", []), new.get("choices", []))
    if lost:
        rule = "request-choices-narrowed" if direction == "request" else "response-choices-narrowed"
        yield where, f"choices {', '.join(lost)} removed", rule
    if gained:
        rule = "request-choices-widened" if direction == "request" else "response-choices-widened"
        yield where, f"choices {', '.join(gained)} added", rule


def _nested(old: Shape, new: Shape, direction: Direction, path: str) -> list[Found]:
    found: list[Found] = []
    for key, suffix in (("items", "[]"), ("values", "{}")):
        if key in old and key in new:
            found += compare_fields(old[key], new[key], direction, path + suffix)
    if "fields" in old or "fields" in new:
        found += compare_shapes(old, new, direction, path)
    return found


def _limits(
    old: Mapping[str, Any], new: Mapping[str, Any], direction: Direction, where: str
) -> Iterator[Found]:
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        tighter = _is_tighter(name, before, after)
        if direction == "request":
            rule = "request-limit-tightened" if tighter else "request-limit-relaxed"
        else:
            rule = "response-limit-tightened" if tighter else "response-limit-relaxed"
        yield where, f"{name} {_limit(before)} -> {_limit(after)}", rule


def _is_tighter(name: str, before: Any, after: Any) -> bool:
    if name in _ALLOWANCES:
        # Not stated counts as allowed.
        return bool(before is not False and after is False)
    if before is None:
        return True  # a new bound
    if after is None:
        return False
    # A maximum tightens downwards, a minimum upwards.
    return bool(after < before) if name in _UPPER_LIMITS else bool(after > before)


def _limit(value: Any) -> str:
    return "none" if value is None else str(value)


def _rules_of_values(old: Shape, new: Shape, direction: Direction, where: str) -> Iterator[Found]:
    lost, gained = differing(old.get("pattern", []), new.get("pattern", []))
    if direction == "request":
        if gained:
            yield where, f"pattern {', '.join(gained)} added", "request-pattern-added"
        if lost:
            yield where, f"pattern {', '.join(lost)} removed", "request-pattern-removed"
        lost, gained = differing(old.get("validators", []), new.get("validators", []))
        if gained:
            yield where, f"validator {', '.join(gained)} added", "request-validator-added"
        if lost:
            yield where, f"validator {', '.join(lost)} removed", "request-validator-removed"
        return
    if lost:
        yield where, f"pattern {', '.join(lost)} removed", "response-pattern-removed"
    if gained:
        yield where, f"pattern {', '.join(gained)} added", "response-pattern-added"


def differing(old: list[Any], new: list[Any]) -> tuple[list[str], list[str]]:
    """(values only in old, values only in new), as text, in their order."""
    before, after = [str(v) for v in old], [str(v) for v in new]
    return [v for v in before if v not in after], [v for v in after if v not in before]
