"""`tracker serve`: a read-only JSON API, dashboard pages and Prometheus /metrics.

records.py   the one way in to the data (the read model); everything below reads through it
models.py    the API's response shapes (OpenAPI)
api.py       /api/... JSON and CSV, with ETag and Cache-Control
pages.py     the HTML pages (Jinja2) and their static assets, plotly.js from its wheel
metrics.py   /metrics: a prometheus-client Collector that reads the store on each scrape
app.py       the FastAPI app factory that puts them together
"""

from __future__ import annotations

from tracker.web.app import create_app

__all__ = ["create_app"]
