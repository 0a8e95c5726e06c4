"""Escaping for strings that reach a page: device ids, message types, geofence names.

Everything a device or a user wrote is text, never markup and never template source.
Three things need care:

* HTML text and attributes: :func:`escape_text` (``&``, ``<``, ``>``, quotes, backtick).
* JSON inside a ``<script>`` element: :func:`script_json`. A ``</script>`` inside a
  JSON string would end the element early, so ``<``, ``>`` and ``&`` are written as
  ``\\u003c`` etc.; the two line separators that older JavaScript engines refuse in
  string literals are escaped too.
* Template delimiters. folium (through branca) passes the output of its templates through
  Jinja a second time, so a ``{{ ... }}`` that reached a map element would be evaluated.
  Both helpers therefore also escape ``{`` and ``}`` (``&#123;`` in HTML, ``\\u007b``
  in JSON strings): no string from data can form ``{{``, ``{%`` or ``{#`` whatever
  renders it. The map elements of this package also skip that second pass
  (see :mod:`bofan_analytics.viz._layers`); the escaping covers folium's own elements
  (the layer control shows layer names).

Lone surrogates (file names that were not UTF-8, decoded with ``surrogateescape``) are
shown as U+FFFD so that the page can be written as UTF-8.
"""

import html
import json
import math
import re

__all__ = ["escape_text", "script_json", "json_safe", "printable"]

_HTML_EXTRA = str.maketrans({"{": "&#123;", "}": "&#125;", "`": "&#96;"})
_SURROGATES = re.compile("[\ud800-\udfff]")
# A JSON string literal as json.dumps writes it (escapes are backslash + one char or uXXXX).
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def printable(value) -> str:
    """``str(value)`` with lone surrogates replaced by U+FFFD, so it can be written as UTF-8.

    Examples
    --------
    >>> printable("caf\\udce9.log")
    'caf\\ufffd.log'
    """
    return _SURROGATES.sub("\ufffd", str(value))


def escape_text(value) -> str:
    """HTML-escape ``value`` (any object; ``None`` becomes an empty string).

    Examples
    --------
    >>> escape_text("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> escape_text("{{7*7}}")
    '&#123;&#123;7*7&#125;&#125;'
    """
    if value is None:
        return ""
    return html.escape(printable(value), quote=True).translate(_HTML_EXTRA)


def json_safe(value):
    """Replace NaN and infinities by ``None`` so that the JSON is strict (JavaScript has no NaN literal)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _escape_braces(match: re.Match) -> str:
    return match.group(0).replace("{", "\\u007b").replace("}", "\\u007d")


def script_json(value) -> str:
    """JSON text that is safe to paste inside a ``<script>`` element (and inside a template).

    Examples
    --------
    >>> script_json({"name": "</script><b>"})
    '{"name":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    >>> script_json(["{{7*7}}"])
    '["\\\\u007b\\\\u007b7*7\\\\u007d\\\\u007d"]'
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    text = _JSON_STRING.sub(_escape_braces, _SURROGATES.sub("\ufffd", text))
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
