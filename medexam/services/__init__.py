"""Writes to the domain, one module per concept (runs, imports, questions, datasets)."""
