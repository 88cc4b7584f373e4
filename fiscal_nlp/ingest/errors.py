"""Ingest errors: each has a stable `kind` (the `errors.kind` column) and a message for a researcher."""
from __future__ import annotations


class IngestError(Exception):
    """A document that cannot be read. `kind` is one of the contract's error ids."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message
