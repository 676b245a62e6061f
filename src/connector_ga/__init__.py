"""connector-ga: prove from evidence whether a connector may move from preview to GA."""

__version__ = "0.1.0"
