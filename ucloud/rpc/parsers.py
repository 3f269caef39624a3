"""The JSON request parser of every ``Controller``: bounded in size and in nesting.

DRF's own parser reads any body and lets Python's JSON decoder recurse as
deep as the input goes. This one refuses a body over Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413 ``body_too_large``) and JSON nested
deeper than ``UCLOUD["MAX_JSON_DEPTH"]`` (400 ``malformed_body``) before
decoding it::

    class MyController(Controller):
        parser_classes = [JSONParser]      # Controller's default already
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

from ucloud.contracts.errors import PayloadTooLarge
from ucloud.settings import ucloud_settings

# Strings are skipped when counting brackets: "[[[" inside one nests nothing.
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_exceeds(text: str, limit: int) -> bool:
    """True when the JSON ``text`` opens more than ``limit`` arrays or objects at once."""
    # Fewer brackets than the limit cannot nest deeper than it: the usual
    # body is answered by two C-speed counts.
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def read_bounded(stream: IO[bytes], limit: int | None) -> bytes:
    """The whole body, or ``PayloadTooLarge`` as soon as it passes ``limit`` bytes."""
    if limit is None:
        return stream.read()
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    return raw


def _text_encoding(context: Mapping[str, Any]) -> str:
    """The body's charset; only text codecs (a bytes codec such as ``bz2_codec``
    would inflate the body after its size was checked)."""
    encoding = str(context.get("encoding") or settings.DEFAULT_CHARSET)
    try:
        "".encode(encoding)
    except (LookupError, UnicodeError) as exc:
        raise ParseError(f"Unsupported charset {encoding!r} in the Content-Type header") from exc
    return encoding


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        context = parser_context or {}
        request = context.get("request")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if limit is not None and declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        encoding = _text_encoding(context)
        try:
            text = read_bounded(stream, limit).decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"Body is not valid {encoding}: {exc}") from exc
        max_depth = ucloud_settings.MAX_JSON_DEPTH
        if nesting_exceeds(text, max_depth):
            raise ParseError(f"JSON nested deeper than {max_depth} levels")
        try:
            parse_constant = json.strict_constant if self.strict else None
            return json.loads(text, parse_constant=parse_constant)
        except RecursionError as exc:  # unreachable below the depth limit; never a 500
            raise ParseError("JSON nested too deeply") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
