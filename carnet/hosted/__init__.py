"""Mailboxes the platform hosts for pros without MSSanté software of their own (the portal)."""
