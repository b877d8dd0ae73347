"""Who may read what (ACC-*, DOC-3…5, LC-7, LC-8): facts, the pure decision, the one gate."""
