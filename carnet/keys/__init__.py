"""Per-patient data keys, wrapped by a master key kept outside the database.

Destroying a patient's key makes his stored content unreadable: deleting the key deletes the data.
"""
