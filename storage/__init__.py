"""Database models, repositories and Alembic migrations."""
