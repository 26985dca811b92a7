"""Schemas of the working-day calendar: override input (form, API, bulk paste) and output."""
from __future__ import annotations

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from emergency.core.validation import BaseSchema, FormSchema, Trimmed, text
from emergency.workdays import rules
from emergency.workdays.models import DayKind

KINDS = [kind.value for kind in DayKind]


class DayRangeInput(BaseSchema):
    """One date, or a range of dates, to mark as days off or worked weekend days."""

    date = fields.Date(required=True, metadata={"description": "First (or only) date", "example": "2027-10-01"})
    end = fields.Date(load_default=None, allow_none=True,
                      metadata={"description": "Last date of a range (optional)", "example": "2027-10-07"})
    kind = fields.Enum(DayKind, required=True, by_value=True,
                       metadata={"description": "holiday: a day off; workday: a weekend day worked (调休)"})
    name = text(rules.MAX_NAME, required=False, load_default="",
                metadata={"description": "The holiday's name, e.g. 国庆节 (required for holidays)"})

    @validates_schema
    def _rules(self, data: dict, **_kwargs) -> None:
        if {"date", "kind"} <= set(data):
            problems = rules.range_problems(data["date"], data.get("end"), data["kind"], data.get("name", ""))
            if problems:
                raise ValidationError({field: [message] for field, message in problems.items()})

    @post_load
    def _entries(self, data: dict, **_kwargs) -> dict:
        data["entries"] = [rules.Entry(day, data["kind"], data.get("name", ""))
                           for day in rules.days_of(data["date"], data.get("end"))]
        return data


class DayRangeForm(DayRangeInput, FormSchema):
    class Meta(FormSchema.Meta):
        pass


class DayEditForm(FormSchema):
    """Kind and name of a stored override (its date stays; delete and add to move it)."""

    kind = fields.Enum(DayKind, required=True, by_value=True)
    name = text(rules.MAX_NAME, required=False, load_default="")


class NoticeLines(Trimmed):
    """The pasted lines of a State Council notice, parsed into entries (all or nothing)."""

    def _deserialize(self, value, attr, data, **kwargs) -> list[rules.Entry]:
        entries, errors = rules.parse_notice(super()._deserialize(value, attr, data, **kwargs))
        if errors:
            raise ValidationError(errors)
        return entries


class NoticeForm(FormSchema):
    lines = NoticeLines(required=True)


class YearQuery(BaseSchema):
    class Meta:
        unknown = "exclude"

    year = fields.Integer(load_default=None, allow_none=True,
                          validate=validate.Range(min=rules.MIN_YEAR, max=rules.MAX_YEAR),
                          metadata={"description": "Year (default: the current year in Asia/Shanghai)"})


class CalendarDaySchema(BaseSchema):
    """A day off or a worked weekend day, and where the calendar has it from."""

    date = fields.Date(attribute="day")
    weekday = fields.Function(lambda info: info.day.isoweekday(), metadata={"description": "1 = Monday … 7 = Sunday"})
    kind = fields.Function(lambda info: info.kind.value, metadata={"description": "holiday or workday"})
    working = fields.Boolean()
    name = fields.String()
    source = fields.Function(lambda info: info.source.value, metadata={"description": "package or override"})


class UsualHolidaySchema(BaseSchema):
    name = fields.String()
    entered = fields.Boolean()


class CalendarYearSchema(BaseSchema):
    year = fields.Integer()
    coverage = fields.String(metadata={"description": "package (chinese-calendar has the year), notice (entered "
                                                      "here and marked complete), overrides (entries, not marked "
                                                      "complete) or none (nothing entered)"})
    confirmed = fields.Boolean(metadata={"description": "package or notice: deadlines in the year are final; "
                                                        "otherwise they are provisional (暂定)"})
    package_covers = fields.Boolean()
    override_count = fields.Integer()
    usual_holidays = fields.List(fields.Nested(UsualHolidaySchema), metadata={
        "description": "The holidays every notice names (元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节) and "
                       "whether the year's entries name each"})
    message = fields.String(allow_none=True, metadata={"description": "Why the year's deadlines are provisional"})
    days = fields.List(fields.Nested(CalendarDaySchema))


class YearStatusSchema(BaseSchema):
    year = fields.Integer()
    complete = fields.Boolean()
    completed_at = fields.AwareDateTime(allow_none=True)
    completed_by = fields.Function(lambda row: row.completed_by.username if row.completed_by else None,
                                   allow_none=True)


class OverrideSchema(BaseSchema):
    """A stored override."""

    id = fields.Integer()
    date = fields.Date(attribute="day")
    kind = fields.Function(lambda row: row.kind.value)
    name = fields.String()
    created_by = fields.Function(lambda row: row.created_by.username if row.created_by else None)
    created_at = fields.AwareDateTime()

