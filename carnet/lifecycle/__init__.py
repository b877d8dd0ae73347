"""The profile's whole life (LC-2…LC-9, LC-6): closing, opposing, reopening, archives and their
destruction, majority, exports, the patients' requests, and the daily jobs that keep time."""
