"""Folium elements behind :func:`bofan_analytics.viz.track_map`.

Imported only when a map is drawn (folium and branca load with it).

Map data travels as one JSON document per layer, drawn by a few lines of JavaScript
(:data:`RUNTIME_JS`) instead of one generated statement per marker: the page stays small
and every string in it is JSON-escaped data, never code. Labels shown in tooltips and
popups are HTML-escaped in Python before they are put in the JSON, because Leaflet
inserts them as markup.

branca renders a ``MacroElement`` by passing each macro's output to a new ``Element``,
which compiles that output as a Jinja template: whatever a macro printed is evaluated a
second time. The elements here put their output into the page as it is instead
(:func:`_render_verbatim`), so even a string that escaped escaping could not run.
"""

from branca.element import Element, MacroElement
from folium.elements import ElementAddToElement
from folium.map import Layer
from folium.template import Template

from ._html import script_json
from ._offline import leaflet_head

__all__ = ["OfflineLeaflet", "DataLayer", "Legend", "RegionPicker", "RUNTIME_JS", "LEGEND_CSS", "strip_cdn_links"]

#: Draws the JSON of a :class:`DataLayer` into a Leaflet feature group.
RUNTIME_JS = """
var bofan = window.bofan || (window.bofan = {});
bofan.draw = function (group, commands) {
  commands.forEach(function (c) {
    if (c.draw === "lines" && c.tips) {
      c.lines.forEach(function (line, i) {
        L.polyline(line, c.style).bindTooltip(c.tips[i], {sticky: true}).addTo(group);
      });
    } else if (c.draw === "lines") {
      // one multi-polyline: a single SVG path however many pieces the track has
      var l = L.polyline(c.lines, c.style);
      if (c.tip) { l.bindTooltip(c.tip, {sticky: true}); }
      l.addTo(group);
    } else if (c.draw === "points") {
      c.points.forEach(function (p) {
        var style = Object.assign({}, c.style);
        if (p.length > 3 && p[3] !== null) { style.radius = p[3]; }
        var m = L.circleMarker([p[0], p[1]], style);
        if (p[2]) { m.bindPopup(p[2]); }
        if (c.tip) { m.bindTooltip(c.tip); }
        m.addTo(group);
      });
    } else if (c.draw === "shapes") {
      L.geoJSON(c.features, {
        style: function () { return c.style; },
        pointToLayer: function (f, latlng) {
          return L.circle(latlng, Object.assign({radius: f.properties.radius_m}, c.style));
        },
        onEachFeature: function (f, layer) {
          layer.bindTooltip(f.properties.label, {sticky: true});
        }
      }).addTo(group);
    }
  });
};
// A control listing regions ({label: escaped markup, bounds}); a button fits the map to
// its region. Maps with a picker are listed in bofan.pickers for scripts and tests.
bofan.pickers = bofan.pickers || [];
bofan.regionPicker = function (map, regions, position) {
  var control = L.control({position: position});
  control.onAdd = function () {
    var div = L.DomUtil.create("div", "bofan-legend bofan-regions");
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    L.DomUtil.create("b", "", div).textContent = "Regions";
    regions.forEach(function (r, i) {
      var button = L.DomUtil.create("button", i === 0 ? "active" : "", div);
      button.type = "button";
      button.innerHTML = r.label;
      L.DomEvent.on(button, "click", function () {
        map.fitBounds(r.bounds, {padding: [12, 12]});
        div.querySelectorAll("button").forEach(function (b) {
          b.classList.toggle("active", b === button);
        });
      });
    });
    return div;
  };
  control.addTo(map);
  bofan.pickers.push({map: map, control: control, regions: regions});
};
"""

LEGEND_CSS = """
.bofan-legend { background: rgba(255,255,255,0.92); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 11px/1.35 system-ui, sans-serif; color: #222; }
.bofan-legend b { display: block; margin: 4px 0 1px; }
.bofan-legend i { display: inline-block; width: 18px; height: 4px; margin: 0 6px 3px 0;
  vertical-align: middle; }
.bofan-legend i.dot { width: 10px; height: 10px; margin: 0 10px 1px 4px; border-radius: 50%;
  border: 2px solid; box-sizing: border-box; }
.bofan-regions { max-width: 230px; }
.bofan-regions button { display: block; width: 100%; margin: 3px 0 0; padding: 3px 7px;
  text-align: left; font: inherit; color: inherit; background: #f4f6f8; cursor: pointer;
  border: 1px solid #c9d1d9; border-radius: 3px; }
.bofan-regions button:hover { background: #e6edf3; }
.bofan-regions button.active { background: #dbe9f6; border-color: #2c7bb6; }
.bofan-regions button b { display: inline; margin: 0; }
.bofan-regions small { color: #555; overflow-wrap: anywhere; }
"""


class _Verbatim(Element):
    """Markup put into the page exactly as given: never compiled as a template."""

    def __init__(self, text: str):
        super().__init__()
        self._name = "Verbatim"
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


def _render_verbatim(element: MacroElement, kwargs: dict) -> None:
    """What ``MacroElement.render`` does, without compiling the macros' output again."""
    figure = element.get_root()
    macros = element._template.module.__dict__
    for part in ("header", "html", "script"):
        macro = macros.get(part)
        if macro is not None:
            getattr(figure, part).add_child(
                _Verbatim(str(macro(element, kwargs))), name=element.get_name()
            )
    for child in element._children.values():
        child.render(**kwargs)


class OfflineLeaflet(MacroElement):
    """Leaflet inlined into the page head, plus the drawing runtime."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        {{ this.head }}
        <style>{{ this.css }}</style>
        <script>{{ this.runtime }}</script>
        {% endmacro %}
        """
    )

    def __init__(self):
        super().__init__()
        self._name = "OfflineLeaflet"
        self.head = leaflet_head()
        self.css = LEGEND_CSS
        self.runtime = RUNTIME_JS

    def render(self, **kwargs):
        _render_verbatim(self, kwargs)


class DataLayer(Layer):
    """An overlay (a Leaflet feature group) filled in the browser from embedded JSON.

    ``commands`` is a list of ``{"draw": "lines" | "points" | "shapes", ...}`` objects,
    see :data:`RUNTIME_JS`. ``lines`` with one ``tip`` become one multi-polyline (one
    SVG path); with ``tips``, one polyline per line. ``name`` is the layer's label in the layer control, which
    Leaflet inserts as markup: it must already be HTML-escaped.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.featureGroup();
        bofan.draw({{ this.get_name() }}, {{ this.data }});
        {% endmacro %}
        """
    )

    def __init__(self, commands: list, *, name: str, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "DataLayer"
        self.data = script_json(commands)

    def render(self, **kwargs):
        # as folium's Layer.render, with the macro output kept verbatim
        if self.show:
            self.add_child(
                ElementAddToElement(
                    element_name=self.get_name(), element_parent_name=self._parent.get_name()
                ),
                name=self.get_name() + "_add",
            )
        _render_verbatim(self, kwargs)


class Legend(MacroElement):
    """A Leaflet control in a map corner showing ``html`` (trusted markup built by this package)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "bofan-legend");
            div.innerHTML = {{ this.html }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, *, position: str = "bottomright"):
        super().__init__()
        self._name = "Legend"
        self.position = position
        self.html = script_json(html)

    def render(self, **kwargs):
        _render_verbatim(self, kwargs)


class RegionPicker(MacroElement):
    """A Leaflet control with one button per region that fits the map to that region.

    ``regions`` is a list of ``{"label": markup, "bounds": [[s, w], [n, e]]}`` (see
    :func:`bofan_analytics.viz._regions.picker_data`); the labels are inserted as markup,
    so whatever came from data in them must already be HTML-escaped.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        bofan.regionPicker({{ this._parent.get_name() }}, {{ this.data }}, {{ this.position|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, regions: list, *, position: str = "topleft"):
        super().__init__()
        self._name = "RegionPicker"
        self.position = position
        self.data = script_json(regions)

    def render(self, **kwargs):
        _render_verbatim(self, kwargs)


def strip_cdn_links(m) -> None:
    """Stop ``m`` (a ``folium.Map``) from linking Leaflet, jQuery, Bootstrap and fonts from CDNs."""
    m.default_js = []
    m.default_css = []
