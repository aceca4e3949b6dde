"""Durable data: SQLAlchemy models, the async engine and the unit of work."""
