"""Schemas for drill cycles and occurrences (drill records have theirs in record_schemas)."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from emergency.core.validation import BaseSchema, FormSchema, text

from plans.drills import recurrence
from plans.drills.models import CYCLE_PRESETS, DRILL_FORMS, SCOPE_KINDS
from emergency.core.timeutil import local_today

TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class RuleInput(BaseSchema):
    freq = fields.String(required=True, validate=validate.OneOf(recurrence.FREQUENCIES))
    weekdays = fields.List(fields.Integer(validate=validate.Range(0, 6)))
    interval = fields.Integer(validate=validate.Range(1, 8))
    day = fields.Integer(allow_none=True, validate=validate.Range(1, 31))
    nth = fields.Integer(allow_none=True, validate=validate.OneOf([1, 2, 3, 4, 5, -1]))
    weekday = fields.Integer(allow_none=True, validate=validate.Range(0, 6))
    month = fields.Integer(allow_none=True, validate=validate.Range(1, 12))


class CycleInput(BaseSchema):
    """A drill cycle. A preset fills the rule, time, duration, window and lead time that are
    not given; ``custom`` needs a rule."""

    name = text(100)
    preset = fields.String(load_default="custom", validate=validate.OneOf(list(CYCLE_PRESETS)))
    scope_kind = fields.String(load_default="", validate=validate.OneOf(list(SCOPE_KINDS)))
    scope_name = text(100, required=False, load_default="")
    rule = fields.Nested(RuleInput)
    start_time = fields.String(validate=validate.Regexp(TIME_OF_DAY, error=_("Use HH:MM, e.g. 09:00.")))
    duration_minutes = fields.Integer(validate=validate.Range(5, 24 * 60))
    grace_days = fields.Integer(validate=validate.Range(0, 60))
    lead_days = fields.Integer(validate=validate.Range(0, 30))
    drill_form = fields.String(validate=validate.OneOf(list(DRILL_FORMS)))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(allow_none=True, load_default=None)
    shift_holidays = fields.Boolean(load_default=True, metadata={
        "description": "遇节假日顺延: an occurrence on a day off moves to the next working day (default true)"})
    plan_ids = fields.List(fields.Integer(), load_default=list)
    contact_ids = fields.List(fields.Integer(), load_default=list)
    #: Only with an enterprise-less user (officers): whose cycle it is.
    enterprise_id = fields.Integer()

    @validates_schema
    def check(self, data, partial=False, **_kwargs):
        if partial:
            return
        errors = {}
        if data.get("scope_kind") and not data.get("scope_name"):
            errors["scope_name"] = [_("Name the site, team or shift.")]
        if data.get("preset", "custom") == "custom" and not data.get("rule"):
            errors["rule"] = [_("A custom cycle needs a recurrence.")]
        if data.get("ends_on") and data.get("starts_on") and data["ends_on"] < data["starts_on"]:
            errors["ends_on"] = [_("The end date must not be before the start date.")]
        if errors:
            raise ValidationError(errors)


def apply_preset(data: dict) -> dict:
    """Fill what the preset defines and the user did not give; validate the rule."""
    preset = recurrence.PRESETS.get(data.get("preset") or "custom", {})
    for name, value in preset.items():
        if data.get(name) in (None, "", []):
            data[name] = dict(value) if isinstance(value, dict) else value
    data.setdefault("start_time", "09:00")
    data.setdefault("duration_minutes", 60)
    data.setdefault("grace_days", 0)
    data.setdefault("lead_days", 1)
    data.setdefault("drill_form", "tabletop")
    data.setdefault("shift_holidays", True)
    data["rule"] = recurrence.validate(data["rule"])
    return data


class CycleForm(FormSchema):
    """The cycle page: the rule comes as flat fields (freq, weekdays, by, day, nth, weekday, month)."""

    name = text(100)
    preset = fields.String(load_default="custom", validate=validate.OneOf(list(CYCLE_PRESETS)))
    scope_kind = fields.String(load_default="", validate=validate.OneOf(list(SCOPE_KINDS)))
    scope_name = text(100, required=False, load_default="")
    freq = fields.String(validate=validate.OneOf(recurrence.FREQUENCIES))
    weekdays = fields.List(fields.Integer(validate=validate.Range(0, 6)), load_default=list)
    interval = fields.Integer(validate=validate.Range(1, 8))
    by = fields.String(load_default="nth", validate=validate.OneOf(["day", "nth"]))
    day = fields.Integer(validate=validate.Range(1, 31))
    nth = fields.Integer(validate=validate.OneOf([1, 2, 3, 4, 5, -1]))
    weekday = fields.Integer(validate=validate.Range(0, 6))
    month = fields.Integer(validate=validate.Range(1, 12))
    start_time = fields.String(validate=validate.Regexp(TIME_OF_DAY, error=_("Use HH:MM, e.g. 09:00.")))
    duration_minutes = fields.Integer(validate=validate.Range(5, 24 * 60))
    grace_days = fields.Integer(validate=validate.Range(0, 60))
    lead_days = fields.Integer(validate=validate.Range(0, 30))
    drill_form = fields.String(validate=validate.OneOf(list(DRILL_FORMS)))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(allow_none=True, load_default=None)
    #: A checkbox: unticked sends nothing.
    shift_holidays = fields.Boolean(load_default=False)
    plan_ids = fields.List(fields.Integer(), load_default=list)
    contact_ids = fields.List(fields.Integer(), load_default=list)
    enterprise_id = fields.Integer()

    @pre_load
    def lists(self, data, **_kwargs):
        # form_data gives single values for one-element multi-selects
        data = dict(data)
        for name in ("weekdays", "plan_ids", "contact_ids"):
            value = data.get(name)
            if value is not None and not isinstance(value, list):
                data[name] = [value]
        return data

    def to_input(self, data: dict) -> dict:
        """Fold the flat recurrence fields into a rule (None when the preset's is meant)."""
        flat = {k: data.pop(k, None) for k in ("freq", "weekdays", "interval", "by", "day", "nth", "weekday", "month")}
        if data.get("preset", "custom") != "custom" and not flat["freq"]:
            return data
        if not flat["freq"]:
            raise ValidationError({"freq": [_("Choose how often the drill recurs.")]})
        rule = {"freq": flat["freq"]}
        if flat["freq"] == "weekly":
            rule.update(weekdays=flat["weekdays"], interval=flat["interval"] or 1)
        else:
            if flat["freq"] in ("quarterly", "yearly"):
                rule["month"] = flat["month"]
            if flat["by"] == "day":
                rule["day"] = flat["day"]
            else:
                rule.update(nth=flat["nth"], weekday=flat["weekday"])
        data["rule"] = rule
        return data


class ExcuseInput(BaseSchema):
    reason = text(300)


class ExcuseForm(ExcuseInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


class OverrideInput(BaseSchema):
    reason = text(500)


class OverrideForm(OverrideInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


class CycleCreateInput(CycleInput):
    pass


class CycleUpdateInput(CycleInput):
    """A change of some fields (the others keep their values)."""

    class Meta(BaseSchema.Meta):
        pass


class CycleSchema(BaseSchema):
    id = fields.Integer()
    enterprise_id = fields.Integer()
    name = fields.String()
    preset = fields.String()
    scope_kind = fields.String()
    scope_name = fields.String()
    rule = fields.Dict()
    rule_text = fields.Function(lambda c: recurrence.describe(c.rule))
    start_time = fields.String()
    duration_minutes = fields.Integer()
    grace_days = fields.Integer()
    lead_days = fields.Integer()
    drill_form = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    active = fields.Boolean()
    shift_holidays = fields.Function(lambda c: bool(c.shift_holidays), metadata={
        "description": "遇节假日顺延 (false also for cycles made before the setting existed, until edited)"})
    plan_ids = fields.Function(lambda c: [p.id for p in c.plans])
    contact_ids = fields.Function(lambda c: [x.id for x in c.contacts])


class CycleQuery(BaseSchema):
    enterprise_id = fields.Integer()
    township_id = fields.Integer()
    active = fields.Boolean()
    q = fields.String()


class OccurrenceSchema(BaseSchema):
    id = fields.Integer()
    key = fields.String(metadata={"description": "Stable identity (also the calendar UID)"})
    enterprise_id = fields.Integer()
    cycle_id = fields.Integer(allow_none=True)
    obligation = fields.String(allow_none=True)
    plan_id = fields.Integer(allow_none=True)
    title = fields.String()
    scheduled_at = fields.DateTime(allow_none=True)
    duration_minutes = fields.Integer()
    due_on = fields.Date()
    moved_from = fields.Date(allow_none=True, metadata={
        "description": "The date the cycle's rule gives, when the drill was moved off a day off (遇节假日顺延)"})
    provisional_year = fields.Integer(allow_none=True, metadata={
        "description": "Set while due_on depends on a year whose holidays are not confirmed (暂定)"})
    window_start = fields.Date()
    window_end = fields.Date()
    status = fields.Method("get_status", metadata={"enum": ["upcoming", "due", "done", "overdue", "excused"]})
    drill_id = fields.Integer(allow_none=True)
    excused_at = fields.DateTime(allow_none=True)
    excuse_reason = fields.String()

    def get_status(self, occurrence):

        return occurrence.status_on(local_today())


class OccurrenceQuery(BaseSchema):
    status = fields.List(fields.String(validate=validate.OneOf(["upcoming", "due", "done", "overdue", "excused"])))
    enterprise_id = fields.Integer()
    township_id = fields.Integer()
    industry = fields.String()
    cycle_id = fields.Integer()
    obligation = fields.String(validate=validate.OneOf(["drill_yearly", "drill_onsite_half_yearly",
                                                        "drill_half_yearly_report"]))
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
