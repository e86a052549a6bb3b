"""SQLAlchemy engines, the schema's tables and Alembic migrations."""
