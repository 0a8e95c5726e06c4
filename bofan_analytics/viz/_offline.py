"""Leaflet's JavaScript and CSS, read from the vendored copy in ``viz/assets/``.

Pages this package writes load nothing from the network except map tiles: the
stylesheet's images are turned into ``data:`` URIs and the source-map comment is dropped
(a browser would try to fetch the map file, which is not shipped).
"""

import base64
import re
from functools import lru_cache
from importlib.resources import files

__all__ = ["LEAFLET_VERSION", "leaflet_css", "leaflet_js", "leaflet_head"]

LEAFLET_VERSION = "1.9.4"

_ASSETS = files("bofan_analytics").joinpath("viz", "assets")


@lru_cache(maxsize=1)
def leaflet_js() -> str:
    """Leaflet's minified JavaScript, ready to inline."""
    text = _ASSETS.joinpath("leaflet.js").read_text(encoding="utf-8")
    return re.sub(r"//# sourceMappingURL=\S+\s*$", "", text)


@lru_cache(maxsize=1)
def leaflet_css() -> str:
    """Leaflet's stylesheet with its images inlined as ``data:`` URIs."""
    css = _ASSETS.joinpath("leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match) -> str:
        data = _ASSETS.joinpath(match.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(data).decode("ascii") + ")"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", inline, css)


def leaflet_head() -> str:
    """``<style>`` and ``<script>`` elements that make Leaflet available to a page."""
    return f"<style>{leaflet_css()}</style>\n<script>{leaflet_js()}</script>"
