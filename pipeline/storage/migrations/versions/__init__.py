"""Alembic revisions, one linear chain."""
