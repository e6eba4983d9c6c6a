"""govmedia: registry and monitoring daemon for government new-media accounts."""

__version__ = "0.1.0"
