"""The DMP's documents: metadata, versions, content (DOC-*)."""
