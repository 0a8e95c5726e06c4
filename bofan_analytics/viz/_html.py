"""Escaping for strings that reach a page: device ids, message types, geofence names.

Everything a device or a user wrote is text, never markup. Two places need care:

* HTML text and attributes: :func:`escape_text` (``&``, ``<``, ``>``, quotes).
* JSON inside a ``<script>`` element: :func:`script_json`. A ``</script>`` inside a
  JSON string would end the element early, so ``<``, ``>`` and ``&`` are written as
  ``\\u003c`` etc.; the two line separators that older JavaScript engines refuse in
  string literals are escaped too.
"""

import html
import json
import math

__all__ = ["escape_text", "script_json", "json_safe"]


def escape_text(value) -> str:
    """HTML-escape ``value`` (any object; ``None`` becomes an empty string).

    Examples
    --------
    >>> escape_text("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    """
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def json_safe(value):
    """Replace NaN and infinities by ``None`` so that the JSON is strict (JavaScript has no NaN literal)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def script_json(value) -> str:
    """JSON text that is safe to paste inside a ``<script>`` element.

    Examples
    --------
    >>> script_json({"name": "</script><b>"})
    '{"name":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
