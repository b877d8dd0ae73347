"""Database adapter: engine, declarative base, transactions, migrations."""
