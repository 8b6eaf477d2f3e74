"""citebot in Discord: parses, calls the engine, renders and sends; never imports the model stack."""

from __future__ import annotations

from .client import CitebotBot, create_bot

__all__ = ["CitebotBot", "create_bot"]
