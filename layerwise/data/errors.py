"""The two ways loading data fails: a file that is not what it claims, or no file at all."""

from __future__ import annotations


class DataError(ValueError):
    """A data file (or download) that is not what it should be; the message names the file."""


class DatasetNotFoundError(FileNotFoundError):
    """No folder holds the dataset; the message says where it looked and how to get it."""
