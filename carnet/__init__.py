"""Carnet: shared medical record and secure health messaging."""

__version__ = "0.1.0"
