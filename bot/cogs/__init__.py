"""One cog per feature: asking, and managing the indexed articles."""
