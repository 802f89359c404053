"""One base error with a user-facing title; pages catch only `CallboardError` and show it."""

from __future__ import annotations


class CallboardError(Exception):
    """An error a person can act on; `title` is what a page or the CLI shows first."""

    title = "Callboard error"

    def __str__(self) -> str:
        return self.args[0] if self.args else self.title


class ConfigError(CallboardError):
    """A setting is missing or wrong; the message names the field."""

    title = "Configuration error"


class StoreError(CallboardError):
    """The DuckDB store cannot be opened, read or written."""

    title = "Storage error"


class StoreBusyError(StoreError):
    """Another process (normally the running service) holds the DuckDB file."""

    title = "Store is in use"


class QueryError(CallboardError):
    """A named query is unknown, got bad parameters, or failed."""

    title = "Query error"


class FilterError(CallboardError):
    """A page's filters cannot give an answer (an end before the start, a range too long)."""

    title = "Check the filters"
