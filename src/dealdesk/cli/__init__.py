"""The `dealdesk` command line."""

from __future__ import annotations

from dealdesk.cli.app import main

__all__ = ["main"]
