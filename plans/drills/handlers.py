"""What drills do when other domains change or ask: the publication gate, an on-site plan's
statutory half-year, drills moved off days off after a calendar change."""
from __future__ import annotations

from emergency.core.queue import enqueue_after_commit
from emergency.core.signals import calendar_changed, drill_gate_state, plan_published, publication_blockers
from plans.drills import gate, occurrences
from plans.plan.models import PlanKind


@publication_blockers.connect
def _drill_gate(version, **_extra) -> list[str]:
    """Article 33: a new plan is tested by a drill before it is issued."""
    return gate.blockers(version)


@drill_gate_state.connect
def _gate_state(version, **_extra) -> dict:
    """The plan version page shows the publication gate's state (computed here, before rendering)."""
    return gate.state(version)


@plan_published.connect
def _onsite_half_year(_actor, version, previous=None, **_extra) -> None:
    if version.plan.kind == PlanKind.onsite and previous is None:
        occurrences.refresh_obligations(version.plan.enterprise)  # its half-yearly drill starts now


@calendar_changed.connect
def _reshift_after_commit(_sender, **_extra) -> None:
    """Once per transaction that changed the calendar: re-lay the cycles that move drills."""
    enqueue_after_commit("drills.reshift_cycles", once=True)
