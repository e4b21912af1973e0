"""Alembic migration environment of the product database (see pipeline.storage.db.upgrade)."""
