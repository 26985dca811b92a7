"""Signals for effects and questions that cross domains (blinker, as Flask's own signals).

A lower domain sends; higher domains subscribe in their ``handlers.py`` (listed in their
``module``), so no domain imports one above it. Two kinds:

- effects, sent after something happened (receivers act; results are ignored):
  ``calendar_changed(sender, years=…)``, ``enterprise_saved(sender, enterprise=…)``,
  ``plan_published(sender, version=…, previous=…)``;
- questions, whose receivers answer (``answers()`` collects what they return):
  ``publication_blockers(version)`` (why a draft may not be published yet),
  ``version_filing(version)`` (the filing of a published version),
  ``plan_filings(plan)`` (the filings of a plan's versions, newest first),
  ``filing_number(version)`` (the number of a filed version, for documents),
  ``drill_gate_state(version)`` (the publication gate's state of a draft, for its page).
"""
from __future__ import annotations

from typing import Any

from blinker import Namespace, Signal

_signals = Namespace()

#: The working-day calendar changed (an entry, or a year marked complete or reopened): years=set.
calendar_changed = _signals.signal("calendar-changed")
#: An enterprise of the register was created or changed (its contacts follow it).
enterprise_saved = _signals.signal("enterprise-saved")
#: A plan version was published (sender: the actor; version=, previous= the version it replaced).
plan_published = _signals.signal("plan-published")

#: Question: messages saying why ``version`` may not be published yet (lists, concatenated).
publication_blockers = _signals.signal("publication-blockers")
#: Question: the filing of ``version`` (or None).
version_filing = _signals.signal("version-filing")
#: Question: the filings of ``plan``'s versions, newest first.
plan_filings = _signals.signal("plan-filings")
#: Question: the filing number of a filed ``version`` (or None).
filing_number = _signals.signal("filing-number")
#: Question: the drill-before-publication state of ``version``: a dict with ``state`` none / needs /
#: drilled (``drills``, ``override``) / waived (``override``, ``officer``), or None (no drills domain).
drill_gate_state = _signals.signal("drill-gate-state")


def answers(signal: Signal, sender: Any, **kwargs: Any) -> list[Any]:
    """What the receivers of a question answered, in the order they connected (None left out)."""
    return [value for _receiver, value in signal.send(sender, **kwargs) if value is not None]


def answer(signal: Signal, sender: Any, **kwargs: Any) -> Any:
    """The first answer to a question, or None."""
    found = answers(signal, sender, **kwargs)
    return found[0] if found else None
