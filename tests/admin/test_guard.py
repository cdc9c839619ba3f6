"""The admin's guard, checked over every route in the url_map so new routes are covered too."""

from __future__ import annotations

import re

from coaching.extensions import db
from tests.factories import row_count

PUBLIC_ADMIN_ENDPOINTS = {"auth.login", "auth.second_factor", "auth.forgot_password", "auth.reset_email_sent",
                          "auth.reset_password_link", "auth.reset_password"}
SAMPLE_VALUES = {"id": "1", "inquiry_id": "1", "post_id": "1", "slug": "x", "name": "x.png",
                 "message_id": "1", "filename": "x"}


def concrete(rule) -> str:
    """A URL for a rule, with sample values for its arguments."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: SAMPLE_VALUES.get(m.group(1), "1"), rule.rule)


def admin_rules(app):
    """Every rule under /admin except signing in."""
    return [rule for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/admin") and rule.endpoint not in PUBLIC_ADMIN_ENDPOINTS]


def test_every_admin_route_sends_strangers_to_sign_in(app, client):
    """SEC-04: does every /admin route (any method) redirect an anonymous visitor to sign-in (303 after a POST)?"""
    app.config["WTF_CSRF_ENABLED"] = False  # so POSTs reach the guard, not the CSRF check
    rules = admin_rules(app)
    assert len(rules) >= 5
    for rule in rules:
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(concrete(rule), method=method)
            assert response.status_code == (303 if method == "POST" else 302), (rule.rule, method)
            assert response.headers["Location"].startswith("/admin/login"), (rule.rule, method)


def test_every_admin_page_is_never_cached(admin_client):
    """PRIV-03: do admin responses (and the sign-in page) carry Cache-Control: no-store?"""
    app = admin_client.application
    for rule in admin_rules(app):
        if "GET" in rule.methods and not rule.arguments:
            response = admin_client.get(rule.rule)
            response.close()
            assert response.headers.get("Cache-Control") == "no-store", rule.rule
    assert admin_client.get("/admin/login").headers["Cache-Control"] == "no-store"


def test_admin_error_pages_and_strangers_redirects_are_never_cached(client, admin_client):
    """PRIV-03: are an /admin 404 (no view ran) and a stranger's redirect to sign-in no-store, and a public page not?"""
    assert admin_client.get("/admin/no-such-page").status_code == 404
    assert admin_client.get("/admin/no-such-page").headers["Cache-Control"] == "no-store"
    assert client.get("/admin/inquiries").headers["Cache-Control"] == "no-store"
    assert client.get("/administrator").headers.get("Cache-Control") != "no-store"


def test_every_post_route_refuses_a_missing_or_forged_token(app, admin_client):
    """SEC-03: does every state-changing route refuse a missing or forged CSRF token, writing nothing?"""
    def row_counts():
        return [row_count(app, table) for table in db.metadata.sorted_tables]

    before = row_counts()
    posting = [rule for rule in app.url_map.iter_rules() if rule.methods & {"POST", "PUT", "PATCH", "DELETE"}]
    assert len(posting) >= 5
    for rule in posting:
        for token in (None, "forged-token"):
            data = {"csrf_token": token} if token else {}
            response = admin_client.post(concrete(rule), data=data)
            # 400 with the form again, or 303 back to the page it came from (a one-button form): never a success.
            assert response.status_code in (400, 303), rule.rule
    assert row_counts() == before


def test_destructive_admin_actions_refuse_get(admin_client):
    """SEC-03: are POST-only admin actions answered 405 (not performed) on GET?"""
    app = admin_client.application
    post_only = [rule for rule in admin_rules(app) if "GET" not in rule.methods]
    assert post_only
    for rule in post_only:
        assert admin_client.get(concrete(rule)).status_code == 405, rule.rule
