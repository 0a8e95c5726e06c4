"""Self-contained HTML fleet reports (``bofan report``) with optional CSV/XLSX tables.

>>> import bofan_analytics as ba
>>> ba.write_report("build/demo_dataset", "reports/demo.html", speed_limit_kmh=90)  # doctest: +SKIP
"""

from ._report import EXPORT_FORMATS, Report, build_report, write_report

__all__ = ["write_report", "build_report", "Report", "EXPORT_FORMATS"]
