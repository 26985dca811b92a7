"""/api/v1: contacts, groups, campaigns and their deliveries."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from emergency.core.access import EDITORS, WRITERS, check_enterprise
from emergency.core.api import api_user, token_required
from emergency.auth.models import Role
from emergency.core.extensions import db
from emergency.organisations.api import SelectPage
from emergency.messaging import campaigns as campaign_ops
from emergency.messaging import contacts as contact_ops
from emergency.messaging import groups as group_ops
from emergency.messaging.models import Campaign, Contact, ContactGroup
from emergency.messaging.queries import campaign_select, contact_select, delivery_select, group_select
from emergency.messaging.schemas import (
    CampaignInput,
    CampaignSchema,
    ContactInput,
    ContactPatch,
    ContactSchema,
    DeliveryQuery,
    DeliverySchema,
    GroupInput,
    GroupSchema,
    PreviewSchema,
)

blp = Blueprint("messaging_api", __name__, url_prefix="/api/v1", description="Contacts, groups and SMS campaigns")


def _with_opt_out(contacts: list[Contact]) -> list[Contact]:
    opted = contact_ops.opted_out([c.mobile for c in contacts])
    for contact in contacts:
        contact.opted_out = contact.mobile in opted
    return contacts


def _contact_or_404(contact_id: int) -> Contact:
    contact = db.get_or_404(Contact, contact_id)
    check_enterprise(api_user(), contact.enterprise_id)
    return contact


def _own_enterprise(data: dict) -> dict:
    """Enterprise users create contacts of their own enterprise only."""
    user = api_user()
    if user.role == Role.enterprise:
        data = {**data, "org_kind": contact_ops.OrgKind.enterprise, "enterprise_id": user.enterprise_id}
    return data


@blp.route("/contacts")
class Contacts(MethodView):
    @token_required()
    @blp.response(200, ContactSchema(many=True))
    @blp.paginate(SelectPage, page_size=50, max_page_size=500)
    def get(self):
        """Contacts the caller may see (enterprise users: their own enterprise's)."""
        return contact_select(api_user(), {})

    @token_required(*WRITERS)
    @blp.arguments(ContactInput)
    @blp.response(201, ContactSchema)
    def post(self, data):
        """Add a contact."""
        contact = contact_ops.create_contact(api_user(), _own_enterprise(data))
        db.session.commit()
        return _with_opt_out([contact])[0]


@blp.route("/contacts/<int:contact_id>")
class ContactById(MethodView):
    @token_required()
    @blp.response(200, ContactSchema)
    def get(self, contact_id: int):
        return _with_opt_out([_contact_or_404(contact_id)])[0]

    @token_required(*WRITERS)
    @blp.arguments(ContactPatch(partial=True))
    @blp.response(200, ContactSchema)
    def patch(self, data, contact_id: int):
        contact = _contact_or_404(contact_id)
        contact_ops.update_contact(api_user(), contact, _own_enterprise(data) if "enterprise_id" in data else data)
        db.session.commit()
        return _with_opt_out([contact])[0]


@blp.route("/groups")
class Groups(MethodView):
    @token_required()
    @blp.response(200, GroupSchema(many=True))
    def get(self):
        """Contact groups: static lists and saved filters."""
        return db.session.scalars(group_select(api_user())).all()

    @token_required(*EDITORS)
    @blp.arguments(GroupInput)
    @blp.response(201, GroupSchema)
    def post(self, data):
        group = group_ops.create_group(api_user(), data)
        db.session.commit()
        return group


@blp.route("/groups/<int:group_id>")
class GroupById(MethodView):
    @token_required()
    @blp.response(200, GroupSchema)
    def get(self, group_id: int):
        group = db.get_or_404(ContactGroup, group_id)
        check_enterprise(api_user(), group.enterprise_id)
        return group

    @token_required(*EDITORS)
    @blp.arguments(GroupInput)
    @blp.response(200, GroupSchema)
    def put(self, data, group_id: int):
        group = db.get_or_404(ContactGroup, group_id)
        group_ops.update_group(api_user(), group, data)
        db.session.commit()
        return group


def _campaign_or_404(campaign_id: int) -> Campaign:
    campaign = db.get_or_404(Campaign, campaign_id)
    check_enterprise(api_user(), campaign.enterprise_id)
    return campaign


def _dump(campaign: Campaign) -> Campaign:
    campaign.counts = campaign_ops.counts(campaign.id)
    campaign.status_detail = campaign_ops.status_detail(campaign, campaign.counts)
    return campaign


@blp.route("/campaigns")
class Campaigns(MethodView):
    @token_required()
    @blp.response(200, CampaignSchema(many=True))
    @blp.paginate(SelectPage, page_size=20, max_page_size=200)
    def get(self):
        """Campaigns, newest first (counts are in each campaign's own GET)."""
        return campaign_select(api_user())

    @token_required(*EDITORS)
    @blp.arguments(CampaignInput)
    @blp.response(201, CampaignSchema)
    def post(self, data):
        """Create a campaign. It goes at once (or at `send_at`; normal ones after quiet hours)
        unless two-person approval is on and it is urgent: then another officer approves it."""
        campaign = campaign_ops.create_campaign(api_user(), data)
        db.session.commit()
        return _dump(campaign)


@blp.route("/campaigns/preview")
class CampaignPreview(MethodView):
    @token_required(*EDITORS)
    @blp.arguments(CampaignInput)
    @blp.response(200, PreviewSchema)
    def post(self, data):
        """Recipients after de-duplication and opt-outs, and SMS parts — without sending."""
        return campaign_ops.preview(data)


@blp.route("/campaigns/<int:campaign_id>")
class CampaignById(MethodView):
    @token_required()
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id: int):
        """A campaign with its delivery counts by status and acknowledgements."""
        return _dump(_campaign_or_404(campaign_id))


def _action(campaign_id: int, operation) -> Campaign:
    campaign = db.get_or_404(Campaign, campaign_id)
    operation(api_user(), campaign)
    db.session.commit()
    return _dump(campaign)


@blp.route("/campaigns/<int:campaign_id>/approve", methods=["POST"])
@token_required(*EDITORS)
@blp.response(200, CampaignSchema)
def approve_campaign(campaign_id: int):
    """Approve an urgent campaign (by an officer other than its author when required)."""
    return _action(campaign_id, campaign_ops.approve)


@blp.route("/campaigns/<int:campaign_id>/cancel", methods=["POST"])
@token_required(*EDITORS)
@blp.response(200, CampaignSchema)
def cancel_campaign(campaign_id: int):
    """Cancel a campaign that has not finished sending (also one stuck in sending): deliveries
    not yet handed to the provider are not sent."""
    return _action(campaign_id, campaign_ops.cancel)


@blp.route("/campaigns/<int:campaign_id>/resend", methods=["POST"])
@token_required(*EDITORS)
@blp.response(201, CampaignSchema)
def resend_campaign(campaign_id: int):
    """A follow-up campaign to the recipients whose delivery failed for a retryable reason."""
    campaign = db.get_or_404(Campaign, campaign_id)
    follow_up = campaign_ops.resend_failed(api_user(), campaign)
    db.session.commit()
    return _dump(follow_up)


@blp.route("/campaigns/<int:campaign_id>/deliveries")
class Deliveries(MethodView):
    @token_required()
    @blp.arguments(DeliveryQuery, location="query")
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate(SelectPage, page_size=100, max_page_size=1000)
    def get(self, params, campaign_id: int):
        """One row per recipient phone with its status history timestamps."""
        return delivery_select(_campaign_or_404(campaign_id), params)

