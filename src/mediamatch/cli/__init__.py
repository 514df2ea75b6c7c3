"""Typer front end: one module per verb group, each exposing `register(app)`."""
