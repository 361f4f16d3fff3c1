"""The database (SQLAlchemy 2 + Alembic) and, later, the artifact store."""
