"""Import every model so that metadata (and Alembic autogenerate) knows all tables."""
from .audit.models import AuditEntry  # noqa: F401
from .auth.models import ApiToken, User  # noqa: F401
from .health.models import QueueProbe, SchedulerHeartbeat, apscheduler_jobs  # noqa: F401
from .messaging.models import (  # noqa: F401
    Campaign, Contact, ContactGroup, Delivery, InboundMessage, OptOut, Setting,
)
from .organisations.models import Enterprise, Jurisdiction, Township  # noqa: F401
from .workdays.models import CalendarDay, CalendarYear  # noqa: F401
from plans.filing.models import Filing, FilingEvent  # noqa: F401, E402
from plans.plan.models import Attachment, Evaluation, Plan, PlanSection, PlanVersion, Review  # noqa: F401, E402
from plans.drills.models import (  # noqa: F401, E402
    CalendarFeed, CorrectiveAction, Drill, DrillCycle, DrillEvaluation, DrillFile, Occurrence, PublicationOverride,
    SpotCheck,
)
