"""Atelier's domain package: shipped as a Lambda layer and imported by every function."""

__version__ = "0.1.0"
