"""The HTTP door: JSON API under /api/v1 (and, later, FHIR under /fhir and the web pages)."""
