"""Import every model so that metadata (and Alembic autogenerate) knows all tables."""
from .audit.models import AuditEntry  # noqa: F401
from .auth.models import ApiToken, User  # noqa: F401
from .organisations.models import Enterprise, Jurisdiction, Township  # noqa: F401
