"""mediamatch: a shared database of known material, its hashes and matching services."""

__version__ = "0.1.0"
