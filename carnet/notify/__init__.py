"""Notifications: an outbox written in the act's transaction, delivered after commit (TR-2)."""
