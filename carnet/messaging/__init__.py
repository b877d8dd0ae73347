"""MSSanté messaging: the patients' mailboxes, conversations and mail going out (MSG-*)."""
