"""Traces: every act on a patient's data, allowed or denied, chained and append-only (TR-*)."""
