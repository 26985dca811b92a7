"""Drills: cycles and statutory obligations, occurrences, drill records, evaluations,
corrective actions, spot checks, reminders, calendars and the compliance dashboard."""
