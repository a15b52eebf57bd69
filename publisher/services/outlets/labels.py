"""Display names of the outlets, for messages and pages."""

from flask_babel import lazy_gettext as _l

OUTLET_LABELS = {
    "status_page": _l("Status page"),
    "x": _l("X"),
    "mastodon": _l("Mastodon"),
    "bluesky": _l("Bluesky"),
    "slack": _l("Slack"),
    "email_subject": _l("Email subject"),
    "email_body": _l("Email body"),
}
