"""The release number (one place: the package, the command line and exported files read it)."""

__version__ = "0.1.0"
