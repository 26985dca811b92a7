"""Pages: contacts, groups, the SMS composer, campaign tracking, replies and settings."""
from __future__ import annotations

import io

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from marshmallow import ValidationError

from emergency.core.access import (
    EDITORS,
    WRITERS,
    check_can_edit_enterprise,
    check_enterprise,
    require_roles,
)
from emergency.auth.models import Role
from emergency.core.extensions import db
from emergency.organisations import industries
from emergency.organisations.models import Enterprise, Township
from emergency.core.sheets import XLSX
from emergency.core.validation import first_errors, id_arg, ids_of
from emergency.core.forms import _blank_as, form_data, import_upload, save
from emergency.messaging import campaigns as campaign_ops
from emergency.messaging import contact_sheet, settings
from emergency.messaging import contacts as contact_ops
from emergency.messaging import groups as group_ops
from emergency.messaging.models import (
    CONTACT_ROLES,
    DELIVERY_STATUS_LABELS,
    ENTERPRISE_ROLES,
    ORG_KIND_LABELS,
    Campaign,
    CampaignStatus,
    Contact,
    ContactGroup,
    InboundMessage,
    OrgKind,
    explain_error,
)
from emergency.messaging.providers import get_provider
from emergency.messaging.queries import campaign_select, contact_select, delivery_select, group_select
from emergency.messaging.schemas import (
    CAMPAIGN_KINDS,
    MAX_BODY,
    PRIORITIES,
    CampaignInput,
    ContactForm,
    GroupInput,
)

bp = Blueprint("messaging", __name__, url_prefix="/messaging")


def _lists(form) -> dict:
    """Multi-value form fields as lists."""
    return {key: [v for v in form.getlist(key) if v] for key in form.keys()}


def _choices() -> dict:
    return {
        "townships": db.session.scalars(sa.select(Township).order_by(Township.name)).all(),
        "enterprises": db.session.execute(sa.select(Enterprise.id, Enterprise.name)
                                          .where(Enterprise.active.is_(True)).order_by(Enterprise.name)).all(),
        # An enterprise user is offered its enterprise's roles only (the operation refuses others).
        "roles": ({code: CONTACT_ROLES[code] for code in ENTERPRISE_ROLES}
                  if current_user.role == Role.enterprise else CONTACT_ROLES),
        "org_kinds": ORG_KIND_LABELS, "industries": industries.INDUSTRIES,
    }


# --- contacts --------------------------------------------------------------------------

@bp.route("/contacts")
@login_required
def contacts():
    params = _contact_params()
    page = db.paginate(contact_select(current_user, params), per_page=50, max_per_page=200)
    opted = contact_ops.opted_out([c.mobile for c in page.items])
    return render_template("messaging/contacts.html", page=page, params=params, opted=opted, **_choices())


def _contact_params() -> dict:
    return {"q": request.args.get("q", ""), "township_id": request.args.get("township_id", type=id_arg),
            "role": request.args.get("role") or None,
            "opted_out": True if request.args.get("opted_out") == "1" else None}


@bp.route("/contacts/export.xlsx")
@login_required
def contact_export():
    """The contacts the list shows (same filters), in the import sheet's columns."""
    rows = db.session.scalars(contact_select(current_user, _contact_params())).all()
    return send_file(io.BytesIO(contact_sheet.export_workbook(rows)), mimetype=XLSX, as_attachment=True,
                     download_name="contacts.xlsx")


@bp.route("/contacts/import", methods=["GET", "POST"])
@require_roles(*WRITERS)
def contact_import():
    errors = []
    if request.method == "POST":
        created, errors = import_upload(
            lambda stream: contact_sheet.import_contacts(current_user, contact_sheet.parse_rows(stream, current_user)))
        if created is not None:
            flash(_("%(n)s contacts imported.", n=len(created)), "success")
            return redirect(url_for(".contacts"))
    return render_template(
        "import.html", errors=errors, title=_("Import contacts"), heading=_("Import contacts from Excel"),
        intro=_("Fill in the template (one person per row, Chinese column headers) and upload it. Either every row "
                "is valid and all are imported, or nothing is imported and every problem is listed."),
        template_url=url_for(".contact_import_template")), (422 if errors else 200)


@bp.route("/contacts/import/template.xlsx")
@require_roles(*WRITERS)
def contact_import_template():
    return send_file(io.BytesIO(contact_sheet.template_workbook()), mimetype=XLSX, as_attachment=True,
                     download_name="contact-import-template.xlsx")


def _contact_form(contact: Contact | None):
    errors: dict[str, str] = {}
    values: dict = {}
    if contact is not None:
        values = {"name": contact.name, "mobile": contact.mobile, "org_kind": contact.org_kind.value,
                  "enterprise_id": contact.enterprise_id, "township_id": contact.township_id,
                  "roles": contact.roles, "note": contact.note, "active": contact.active}
    if request.method == "POST":
        # Blank inputs as the schema means them (an empty note is "", not a missing value).
        raw = _blank_as(ContactForm(), form_data(set(ContactForm().fields)))
        raw["roles"] = request.form.getlist("roles")
        raw["active"] = request.form.get("active") == "1"
        if current_user.role == Role.enterprise:
            raw["org_kind"], raw["enterprise_id"] = OrgKind.enterprise.value, current_user.enterprise_id
        values = raw
        def apply() -> Contact:
            data = ContactForm().load(raw)
            if contact is None:
                return contact_ops.create_contact(current_user, data)
            contact_ops.update_contact(current_user, contact, data)
            return contact

        _saved, errors = save(apply)
        if not errors:
            flash(_("Saved."), "success")
            return redirect(url_for(".contacts"))
    return render_template("messaging/contact_form.html", contact=contact, values=values, errors=errors,
                           **_choices()), (422 if errors else 200)


@bp.route("/contacts/new", methods=["GET", "POST"])
@require_roles(*WRITERS)
def contact_new():
    return _contact_form(None)


@bp.route("/contacts/<int:contact_id>", methods=["GET", "POST"])
@login_required
def contact_edit(contact_id: int):
    contact = db.get_or_404(Contact, contact_id)
    check_enterprise(current_user, contact.enterprise_id)
    if request.method == "POST":
        check_can_edit_enterprise(current_user, contact.enterprise_id)
    return _contact_form(contact)


@bp.route("/contacts/<int:contact_id>/opt-out", methods=["POST"])
@require_roles(*EDITORS)
def contact_opt_out(contact_id: int):
    contact = db.get_or_404(Contact, contact_id)
    if request.form.get("opt_out") == "1":
        contact_ops.opt_out(current_user, contact.mobile, "officer", request.form.get("reason", "")[:200])
        flash(_("%(phone)s receives no more SMS.", phone=contact.mobile), "success")
    else:
        contact_ops.opt_in(current_user, contact.mobile, "officer")
        flash(_("%(phone)s receives SMS again.", phone=contact.mobile), "success")
    db.session.commit()
    return redirect(url_for(".contact_edit", contact_id=contact.id))


# --- groups ----------------------------------------------------------------------------

@bp.route("/groups")
@login_required
def groups():
    rows = db.session.scalars(group_select(current_user)).all()
    return render_template("messaging/groups.html", groups=rows)


def _group_payload() -> dict:
    lists = _lists(request.form)
    high_risk = request.form.get("high_risk")
    return {
        "name": request.form.get("name", "").strip(),
        "kind": request.form.get("kind", ""),
        "member_ids": lists.get("member_ids", []),
        "criteria": {
            "township_ids": lists.get("township_ids", []), "industries": lists.get("industries", []),
            "roles": lists.get("roles", []), "org_kinds": lists.get("org_kinds", []),
            "high_risk": True if high_risk == "1" else None,
        },
    }


def _group_form(group: ContactGroup | None):
    errors: dict[str, str] = {}
    values = ({"name": group.name, "kind": group.kind, "member_ids": [c.id for c in group.members],
               "criteria": group.criteria or {}} if group else {"kind": "filter", "criteria": {}, "member_ids": []})
    if request.method == "POST":
        values = _group_payload()
        def apply() -> ContactGroup:
            data = GroupInput().load(values)
            if group is None:
                return group_ops.create_group(current_user, data)
            group_ops.update_group(current_user, group, data)
            return group

        _saved, errors = save(apply)
        if not errors:
            flash(_("Saved."), "success")
            return redirect(url_for(".groups"))
    contacts_all = db.session.scalars(sa.select(Contact).where(Contact.active.is_(True)).order_by(Contact.name)).all()
    return render_template("messaging/group_form.html", group=group, values=values, errors=errors,
                           contacts=contacts_all, **_choices()), (422 if errors else 200)


@bp.route("/groups/new", methods=["GET", "POST"])
@require_roles(*EDITORS)
def group_new():
    return _group_form(None)


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
@require_roles(*EDITORS)
def group_edit(group_id: int):
    return _group_form(db.get_or_404(ContactGroup, group_id))


# --- campaigns -------------------------------------------------------------------------

@bp.route("/campaigns")
@login_required
def campaigns():
    page = db.paginate(campaign_select(current_user), per_page=30, max_per_page=200)
    counts = {c.id: campaign_ops.counts(c.id) for c in page.items}
    return render_template("messaging/campaigns.html", page=page, counts=counts, kinds=CAMPAIGN_KINDS)


def _compose_payload() -> dict:
    lists = _lists(request.form)
    phones = [p.strip() for p in (request.form.get("phones") or "").replace("，", ",").replace("\n", ",").split(",")
              if p.strip()]
    payload = {
        "kind": request.form.get("kind", ""), "title": request.form.get("title", ""),
        "body": request.form.get("body", ""), "priority": request.form.get("priority", ""),
        "ack_requested": request.form.get("ack_requested") == "1",
        "group_ids": lists.get("group_ids", []), "contact_ids": lists.get("contact_ids", []), "phones": phones,
    }
    send_at = (request.form.get("send_at") or "").strip()
    if send_at:
        # <input type=datetime-local> gives local time without a zone: it is Asia/Shanghai.
        payload["send_at"] = send_at if ("+" in send_at[10:] or send_at.endswith("Z")) else send_at + "+08:00"
    return payload


@bp.route("/campaigns/new", methods=["GET", "POST"])
@require_roles(*EDITORS)
def compose():
    errors: dict[str, str] = {}
    values: dict = {"kind": "warning", "priority": "urgent", "group_ids": [], "contact_ids": []}
    if request.method == "POST":
        values = _compose_payload()
        campaign, errors = save(lambda: campaign_ops.create_campaign(current_user, CampaignInput().load(values)))
        if not errors:
            flash(_("Campaign created.") if campaign.status == CampaignStatus.awaiting_approval
                  else _("Campaign released."), "success")
            return redirect(url_for(".campaign", campaign_id=campaign.id))
    return render_template(
        "messaging/compose.html", values=values, errors=errors, kinds=CAMPAIGN_KINDS, priorities=PRIORITIES,
        max_body=MAX_BODY, groups=db.session.scalars(group_select(current_user)).all(),
        two_person=settings.get("two_person_approval"), quiet_hours=settings.get("quiet_hours"),
    ), (422 if errors else 200)


@bp.route("/campaigns/preview", methods=["POST"])
@require_roles(*EDITORS)
def compose_preview():
    """Recipient count and parts for the composer (called by the page as the officer types)."""
    payload = _compose_payload()
    payload.setdefault("title", "preview")
    # Ids from the form are strings; PostgreSQL will not compare them with integer columns.
    for key in ("group_ids", "contact_ids"):
        payload[key] = ids_of(payload[key])
    return jsonify(campaign_ops.preview(payload))


def _campaign_or_404(campaign_id: int) -> Campaign:
    campaign = db.get_or_404(Campaign, campaign_id)
    check_enterprise(current_user, campaign.enterprise_id)
    return campaign


@bp.route("/campaigns/<int:campaign_id>")
@login_required
def campaign(campaign_id: int):
    item = _campaign_or_404(campaign_id)
    problems = db.paginate(delivery_select(item, {"problems": True}), per_page=100, max_per_page=500)
    counts = campaign_ops.counts(item.id)
    return render_template(
        "messaging/campaign.html", campaign=item, counts=counts, problems=problems,
        status_detail=campaign_ops.status_detail(item, counts),
        kinds=CAMPAIGN_KINDS, simulated=get_provider().simulated, resendable=len(campaign_ops.resendable(item)),
        needs_second=campaign_ops.needs_second_person(item), delivery_labels=DELIVERY_STATUS_LABELS,
        explain_error=explain_error,
    )


@bp.route("/campaigns/<int:campaign_id>/status.json")
@login_required
def campaign_status(campaign_id: int):
    item = _campaign_or_404(campaign_id)
    return jsonify(status=item.status.value, counts=campaign_ops.counts(item.id))


@bp.route("/campaigns/<int:campaign_id>/<action>", methods=["POST"])
@require_roles(*EDITORS)
def campaign_action(campaign_id: int, action: str):
    item = db.get_or_404(Campaign, campaign_id)
    operations = {"approve": campaign_ops.approve, "cancel": campaign_ops.cancel,
                  "resend": campaign_ops.resend_failed}
    if action not in operations:
        abort(404)
    try:
        result = operations[action](current_user, item)
    except ValidationError as exc:
        db.session.rollback()
        flash("; ".join(first_errors(exc.messages).values()), "error")
        return redirect(url_for(".campaign", campaign_id=item.id))
    db.session.commit()
    if action == "resend":
        flash(_("A follow-up campaign resends to the failed recipients."), "success")
        return redirect(url_for(".campaign", campaign_id=result.id))
    flash(_("Done."), "success")
    return redirect(url_for(".campaign", campaign_id=item.id))


# --- replies and settings ----------------------------------------------------------------

@bp.route("/replies")
@require_roles(Role.admin, Role.officer, Role.viewer)
def replies():
    page = db.paginate(sa.select(InboundMessage).order_by(InboundMessage.id.desc()), per_page=50, max_per_page=200)
    return render_template("messaging/replies.html", page=page)


@bp.route("/settings", methods=["GET", "POST"])
@require_roles(Role.admin)
def settings_page():
    errors: dict[str, str] = {}
    if request.method == "POST":
        quiet = (request.form.get("quiet_hours") or "").strip()
        try:
            settings.parse_quiet_hours(quiet)
        except ValueError:
            errors["quiet_hours"] = _("Write quiet hours as HH:MM-HH:MM, e.g. 22:00-07:00, or leave empty.")
        if not errors:
            settings.put(current_user, "quiet_hours", quiet)
            settings.put(current_user, "two_person_approval", request.form.get("two_person_approval") == "1")
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for(".settings_page"))
    return render_template("messaging/settings.html", errors=errors,
                           quiet_hours=request.form.get("quiet_hours", settings.get("quiet_hours")),
                           two_person=settings.get("two_person_approval"),
                           provider=current_app.config["SMS_PROVIDER"])
