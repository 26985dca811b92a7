"""Worker tasks, one module per concern. Importing this package registers them all."""
from . import messaging, system  # noqa: F401
