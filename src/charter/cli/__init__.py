"""The ``charter`` command (Typer + Rich)."""
