"""Reports for managers, made from the store's per-night figures: the weekly report (HTML and PDF)."""
