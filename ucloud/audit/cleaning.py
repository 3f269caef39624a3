"""What a request brought, made fit for its audit record.

Headers, paths and bodies come from anyone, refused calls included. A NUL
character, an unpaired surrogate (``"\\ud800"`` in JSON), a NaN, or a
header longer than the record's field made the record invalid for the
audit stream (the buffer then held it, and every record after it, for
ever) or unstorable in PostgreSQL's text and jsonb columns (a dead letter:
the record lost). Here each is replaced (U+FFFD), cut to its field's
length, or written as text, so that such a call is recorded like any
other::

    text("a\\x00b", 200)                  # "a\\ufffdb"
    json_safe({"n": float("nan")})       # {"n": "nan"}
"""

from __future__ import annotations

import math
from typing import Any

REPLACEMENT = "\ufffd"


def text(value: object, limit: int | None = None) -> str:
    """``value`` as text PostgreSQL and the stream accept, at most ``limit`` long."""
    found = "" if value is None else str(value)
    if "\x00" in found:
        found = found.replace("\x00", REPLACEMENT)
    try:
        found.encode("utf-8")
    except UnicodeEncodeError:
        # Unpaired surrogates: through UTF-16, a pair becomes its character
        # and a lone one the replacement character.
        found = found.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return found if limit is None else found[:limit]


def json_safe(data: Any) -> Any:
    """``data`` with every string cleaned and every non-finite number as text."""
    if isinstance(data, str):
        return text(data)
    if isinstance(data, bool) or data is None or isinstance(data, int):
        return data
    if isinstance(data, float):
        return data if math.isfinite(data) else repr(data)
    if isinstance(data, dict):
        return {text(key): json_safe(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [json_safe(item) for item in data]
    return text(data)
