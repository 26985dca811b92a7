"""Plan documents: safe rich text for sections, and import of sections from Word files."""

from emergency.core.module import Module

module = Module("documents")
