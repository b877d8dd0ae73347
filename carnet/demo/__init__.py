"""A deterministic synthetic population for the demo and the tests (named personas)."""
