"""Headless Chromium with networking off: load a page, report JS errors, take a screenshot.

No browser driver and no DevTools client: a probe script is put first in ``<head>`` of a
copy of the page; it records errors (``window.onerror``, unhandled rejections) and any
call of ``alert``/``confirm``/``prompt``, then, a moment after ``load``, writes what it
found as JSON into the DOM, which ``--dump-dom`` prints. ``--virtual-time-budget`` lets
the page's timers run before the dump. Network requests go to a proxy that does not exist
and host names resolve to nothing, so the page gets no resource from anywhere.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

__all__ = ["CHROMIUM", "run_page", "screenshot"]

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)

_OFFLINE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]

PROBE = """<script>
(function () {
  var found = {errors: [], alerts: []};
  window.__bofanProbe = found;
  window.onerror = function (message, source, line, column) {
    found.errors.push(String(message) + " at " + source + ":" + line + ":" + column);
  };
  window.addEventListener("unhandledrejection", function (e) {
    found.errors.push("unhandled rejection: " + String(e.reason));
  });
  window.alert = window.confirm = window.prompt = function (m) { found.alerts.push(String(m)); };
  function openEverything() {
    // Popups and tooltips only become markup when opened: open them all, so that a label
    // that was not escaped gets its chance to run.
    found.opened = 0;
    Object.keys(window).forEach(function (key) {
      var map;
      try { map = window[key]; } catch (e) { return; }
      if (typeof L === "undefined" || !(map instanceof L.Map)) { return; }
      map.eachLayer(function (layer) {
        try {
          if (layer.getTooltip && layer.getTooltip()) { layer.openTooltip(); found.opened++; }
          if (layer.getPopup && layer.getPopup()) { layer.openPopup(); found.opened++; }
        } catch (e) {
          found.probeErrors = (found.probeErrors || []).concat([String(e)]);
        }
      });
    });
  }
  window.addEventListener("load", function () {
    setTimeout(openEverything, 100);
    setTimeout(function () {
      var paths = Array.prototype.slice.call(
        document.querySelectorAll(".leaflet-overlay-pane path"));
      found.leaflet = (typeof L === "undefined") ? null : L.version;
      found.maps = document.querySelectorAll(".leaflet-container").length;
      found.polylines = paths.filter(function (p) {
        return /L/.test(p.getAttribute("d") || "") && !/z$/i.test(p.getAttribute("d") || "");
      }).map(function (p) { return p.getAttribute("stroke"); });
      found.markers = paths.filter(function (p) { return /a/.test(p.getAttribute("d") || ""); }).length;
      found.injected = document.querySelectorAll("img[src='x'], script[src='x']").length;
      found.external = Array.prototype.slice.call(
        document.querySelectorAll("script[src], link[href]")).map(function (e) {
          return e.getAttribute("src") || e.getAttribute("href"); });
      found.text = document.body.innerText;
      var out = document.createElement("pre");
      out.id = "__bofan_probe";
      out.textContent = JSON.stringify(found);
      document.body.appendChild(out);
    }, 800);
  });
})();
</script>"""


def _run(args: list, tmp: Path, timeout: float = 90) -> subprocess.CompletedProcess:
    profile = tmp / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    cmd = [CHROMIUM, *_OFFLINE_FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def run_page(page: Path, tmp: Path, *, budget_ms: int = 5000, script: str = "") -> dict:
    """Load ``page`` offline with the probe; return what the probe found.

    ``script``, if given, is JavaScript put right after the probe: it can act on the page
    once loaded and write what it sees into ``window.__bofanProbe`` before the report
    (800 ms after ``load``).
    """
    html = page.read_text(encoding="utf-8")
    head = re.search(r"<head[^>]*>", html)
    assert head, f"{page} has no <head>"
    probed = tmp / ("probed-" + page.name)
    extra = f"<script>{script}</script>" if script else ""
    probed.write_text(html[: head.end()] + PROBE + extra + html[head.end() :], encoding="utf-8")
    done = _run(["--dump-dom", f"--virtual-time-budget={budget_ms}", probed.as_uri()], tmp)
    match = re.search(r'<pre id="__bofan_probe">(.*?)</pre>', done.stdout, re.S)
    assert match, f"the probe did not report (exit {done.returncode}):\n{done.stderr[-3000:]}"
    import html as html_lib

    return json.loads(html_lib.unescape(match.group(1)))


def screenshot(page: Path, png: Path, tmp: Path, *, fragment: str = "", size=(1200, 900)) -> Path:
    """Render ``page`` offline (optionally scrolled to ``#fragment``) into ``png``."""
    png.parent.mkdir(parents=True, exist_ok=True)
    url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
    done = _run(
        [
            f"--screenshot={png}",
            f"--window-size={size[0]},{size[1]}",
            "--virtual-time-budget=4000",
            "--hide-scrollbars",
            url,
        ],
        tmp,
    )
    assert png.exists() and png.stat().st_size > 0, f"no screenshot:\n{done.stderr[-3000:]}"
    return png
