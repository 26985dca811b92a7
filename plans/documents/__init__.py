"""Plan documents: safe rich text for sections, and import of sections from Word files."""
