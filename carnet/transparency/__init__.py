"""The transparency log as the doors see it: heads, the log's key, proofs for who may see them."""
