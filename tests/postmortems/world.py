"""What the access matrix's world needs for the postmortem routes: a postmortem on its
incident (written by the admin) with one follow-up action owned by the responder."""

from __future__ import annotations

from datetime import timedelta

from publisher.models import FollowUpAction, Role, utcnow
from publisher.services import postmortems


def postmortem_with_an_action(incident, people) -> FollowUpAction:
    postmortem = postmortems.start_postmortem(people[Role.ADMIN], incident)
    return postmortems.add_action(
        people[Role.ADMIN],
        postmortem,
        title="Alert on checkout errors",
        owner=people[Role.RESPONDER],
        due_on=utcnow().date() + timedelta(days=7),
    )
