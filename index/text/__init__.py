"""Text: reading articles (files and URLs), splitting them into sentences and chunks, word terms."""
