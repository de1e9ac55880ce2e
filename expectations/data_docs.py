"""GX Data Docs that work on a closed network.

GX 1.24 writes its pages with hard-coded CDN ``<script>``/``<link>`` tags and offers no option to
bundle them; offline, the index lists no runs and the pass/fail icons are invisible. So after GX
builds a site, the pages are rewritten to use copies of the same files shipped in
``data_docs_assets/`` (from the npm registry, byte-identical to the CDN ones). Tied to GX 1.24:
check the list again when upgrading.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

ASSETS = Path(__file__).with_name("data_docs_assets")

# CDN address in GX's templates → our copy under <site>/static/vendor/
_UNPKG_TABLE = "https://unpkg.com/bootstrap-table@"
_DATEPICKER = "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0"
# The CDN addresses GX writes into Data Docs, and the vendored copy each is replaced by.
VENDORED = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    f"{_UNPKG_TABLE}1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    f"{_UNPKG_TABLE}1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    f"{_UNPKG_TABLE}1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table/filter-control.min.js"
    ),
    f"{_UNPKG_TABLE}1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table/filter-control.css"
    ),
    f"{_UNPKG_TABLE}1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table/filter-control.min.css"
    ),
    f"{_DATEPICKER}/css/bootstrap-datepicker.min.css": "bootstrap-datepicker/bootstrap-datepicker.min.css",
    f"{_DATEPICKER}/js/bootstrap-datepicker.min.js": "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-dark/bootstrap-prefers-dark.css"
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
}
_S3_LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[A-Za-z_-]+\.png(\?d=[0-9TZ.:-]+)?"
)
_EXTERNAL_LINK = re.compile(r'(<a\b[^>]*?)href="https?://[^"]*"')
_EXTERNAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//[^"']+|url\(\s*['"]?(?:https?:)?//""")


def localise(site: Path) -> list[str]:
    """Point every page of a built site at the shipped copies; returns any external asset left."""
    site = site.resolve()
    shutil.copytree(ASSETS, site / "static" / "vendor", dirs_exist_ok=True)
    leftovers = []
    for page in site.rglob("*"):
        if page.suffix not in (".html", ".css") or "vendor" in page.relative_to(site).parts:
            continue
        up = os.path.relpath(site, page.parent).replace(os.sep, "/")
        prefix = "" if up == "." else up + "/"
        html = page.read_text(encoding="utf-8")
        for url, local in VENDORED.items():
            html = html.replace(url, f"{prefix}static/vendor/{local}")
        html = re.sub(r'\s(?:integrity|crossorigin)="[^"]*"', "", html)  # checksums of CDN copies
        html = _S3_LOGO.sub(f"{prefix}static/images/logo-long.png", html)
        html = _EXTERNAL_LINK.sub(r'\1href="#"', html)
        page.write_text(html, encoding="utf-8")
        leftovers += [f"{page.relative_to(site)}: {m.group(0)}" for m in _EXTERNAL_ASSET.finditer(html)]
    return leftovers
