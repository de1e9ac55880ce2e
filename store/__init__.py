"""The published store: SQLAlchemy models, Alembic migrations, and the one module that writes.

- ``store.models``  the schema (tables named by the architecture, read by other tools too)
- ``store.db``      engines, URLs, migrations (``upgrade``, ``ensure_schema``), sessions
- ``store.writes``  every write to the store
- ``store.queries`` reads for the stages and the web app

docs/store.md describes every table and column.
"""
