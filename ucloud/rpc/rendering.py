"""JSON answers that render whatever text they hold.

DRF's ``JSONRenderer`` writes non-ASCII characters as they are and then
encodes the text as UTF-8, which fails on an unpaired surrogate: a request
body with ``"\\ud800"`` in an unknown field's name, echoed in the 400's
field errors, answered 500 instead. ``SafeJSONRenderer`` renders as DRF
does and, only when that fails, again with every non-ASCII character
escaped (``"\\ud800"`` is valid JSON)::

    class Controller(viewsets.ViewSet):
        renderer_classes = [SafeJSONRenderer]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import JSONRenderer


class _EscapingJSONRenderer(JSONRenderer):
    ensure_ascii = True


_escaping = _EscapingJSONRenderer()


class SafeJSONRenderer(JSONRenderer):
    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return _escaping.render(data, accepted_media_type, renderer_context)
