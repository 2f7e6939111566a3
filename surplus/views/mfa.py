"""Two-step verification settings (``/account/mfa``): set up, recovery codes, turn off;
and the guard that sends a user whose role requires it to the set-up until it is on.
The second step of the sign-in is in views/auth.py."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import DomainError
from ..extensions import db, htmx
from ..forms_mfa import BeginForm, ConfirmForm, DisableForm, RenewForm
from ..services import mfa
from .helpers import apply_errors, render_form

bp = Blueprint("mfa", __name__, url_prefix="/account/mfa")

# What a user who must set up MFA may still reach: the set-up, signing out (here or
# everywhere), the language switch, the privacy notice and what a page loads.
_OPEN_ENDPOINTS = {
    "mfa.setup",
    "mfa.enrol_begin",
    "mfa.enrol_confirm",
    "auth.logout",
    "security.sign_out_everywhere",
    "privacy.notice",
    "main.language_set",
    "main.favicon",
    "main.healthz",
    "static",
}


@bp.before_app_request
def enrolment_required():
    """A signed-in user whose role requires MFA (MFA_REQUIRED_ROLES) and who has not
    turned it on goes to the set-up page; htmx gets ``HX-Redirect`` (nothing when it
    asks from the set-up page itself: the bell's poll must not reload it)."""
    endpoint = request.endpoint or ""
    if endpoint in _OPEN_ENDPOINTS or endpoint.endswith(".static") or not endpoint:
        return None
    if request.path.startswith("/api/"):  # bearer tokens: POST /api/v1/token refuses
        return None
    if not current_user.is_authenticated or not mfa.required(current_user):
        return None
    if mfa.enabled(current_user):
        return None
    target = url_for("mfa.setup")
    if htmx:
        if urlsplit(htmx.current_url or "").path.startswith(target):
            return Response(status=204)
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target)


def _page(status: int = 200, **forms):
    user = current_user._get_current_object()
    secret = mfa.pending_secret(user)
    return render_form(
        "mfa/setup.html",
        status,
        enabled=mfa.enabled(user),
        required=mfa.required(user),
        pending=secret is not None,
        qr=mfa.qr_svg(user, _("QR code to scan with your authenticator app")) if secret else None,
        secret=mfa.grouped(secret) if secret else None,
        codes_left=mfa.recovery_codes_left(db.session, user) if mfa.enabled(user) else 0,
        begin_form=forms.get("begin_form") or BeginForm(),
        confirm_form=forms.get("confirm_form") or ConfirmForm(formdata=None),
        renew_form=forms.get("renew_form") or RenewForm(formdata=None),
        disable_form=forms.get("disable_form") or DisableForm(formdata=None),
    )


def _codes_page(codes: list[str]):
    return render_form("mfa/recovery_codes.html", 200, codes=codes)


@bp.get("/")
@login_required
def setup():
    """Whether two-step verification is on (since when, recovery codes left) with its
    actions, or the set-up: QR code, the secret written out, the first code."""
    return _page()


@bp.post("/enrol")
@login_required
def enrol_begin():
    """Start (or start over) the set-up: a new secret; back to the page with its QR
    code (409 when MFA is already on)."""
    if not BeginForm().validate_on_submit():
        return _page(400)
    mfa.begin(db.session, current_user._get_current_object())
    db.session.commit()
    return redirect(url_for("mfa.setup"))


@bp.post("/confirm")
@login_required
def enrol_confirm():
    """Turn MFA on with the app's first code: the recovery codes page (shown once);
    422 with the message when the code is wrong."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(422, confirm_form=form)
    try:
        codes = mfa.confirm(db.session, current_user._get_current_object(), form.code.data)
    except DomainError as error:
        db.session.rollback()
        apply_errors(form, error)
        return _page(error.status if error.status != 400 else 422, confirm_form=form)
    db.session.commit()
    flash(_("Two-step verification is on."), "success")
    return _codes_page(codes)


@bp.post("/recovery-codes")
@login_required
def recovery_renew():
    """New recovery codes for a current code (the old ones stop working); 422 when the
    code is wrong."""
    form = RenewForm()
    if not form.validate_on_submit():
        return _page(422, renew_form=form)
    try:
        codes = mfa.renew_recovery_codes(
            db.session, current_user._get_current_object(), form.code.data
        )
    except DomainError as error:
        db.session.commit()  # the failure is logged
        apply_errors(form, error)
        return _page(error.status if error.status != 400 else 422, renew_form=form)
    db.session.commit()
    return _codes_page(codes)


@bp.post("/disable")
@login_required
def disable():
    """Turn MFA off for a current code or the password; 403 for a role that requires
    it, 422 when the proof is wrong."""
    form = DisableForm()
    if not form.validate_on_submit():
        return _page(422, disable_form=form)
    try:
        mfa.disable(db.session, current_user._get_current_object(), form.proof.data)
    except DomainError as error:
        db.session.commit()  # the failure is logged
        if error.status == 403:
            raise
        apply_errors(form, error)
        return _page(error.status if error.status != 400 else 422, disable_form=form)
    db.session.commit()
    flash(_("Two-step verification is off."), "info")
    return redirect(url_for("mfa.setup"))
