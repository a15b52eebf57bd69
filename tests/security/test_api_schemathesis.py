"""/api/v1 against its own OpenAPI document, with generated requests (schemathesis).

Every operation is called with data built from the document, valid and invalid, by an
admin's token: no answer may be a 500, and every answer must match the document. After
each request the public outputs are read back: none may show a draft or an internal
update (seeded with unique markers), whatever the API was just asked to do.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from publisher.extensions import db
from publisher.models import Audience, MessageState, Role

from ..staff import bearer
from ..web.test_access_matrix import world  # noqa: F401  (a fixture, used by api_world)

EXAMPLES = 8  # per operation: bounded, so the suite stays fast
DRAFT_MARKER = "zq-draft-7c1e"
INTERNAL_MARKER = "zq-internal-93ab"
PUBLIC_OUTPUTS = ["/", "/history", "/history.rss", "/history.atom", "/api/v2/summary.json",
                  "/api/v2/incidents.json", "/api/v2/incidents/unresolved.json"]  # fmt: skip
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]  # fmt: skip


@pytest.fixture
def api_world(app, make, world):  # noqa: F811  (the imported fixture)
    """The access matrix's world (an incident, a maintenance, a draft, a template, an outlet,
    a dead delivery, a roster assignment), plus a secret draft and internal update."""
    incident = world["incident"]
    make.draft(incident, body=f"Draft {DRAFT_MARKER}")
    make.draft(incident, body=f"Internal {INTERNAL_MARKER}", audience=Audience.INTERNAL,
               state=MessageState.PUBLISHED)  # fmt: skip
    ids = {
        "id": incident.public_id,
        "assignment_id": world["assignment"].id,
        "message_id": world["message"].public_id,
        "template_id": world["template"].id,
        "channel_id": world["channel"].id,
        "delivery_id": world["dead_delivery"].id,
    }
    headers = bearer(world["people"][Role.ADMIN])
    db.session.commit()
    return {"headers": headers, "ids": ids, "maintenance": world["maintenance"].public_id}


def no_secret_reaches_the_public(ctx, response, case):
    """A custom check: no public output shows a draft or an internal update's text."""
    client = case.operation.schema.app.test_client()
    for path in PUBLIC_OUTPUTS:
        public = client.get(path)
        assert public.status_code == 200, (path, public.status_code)
        text = public.get_data(as_text=True)
        assert DRAFT_MARKER not in text, f"a draft reached {path}"
        assert INTERNAL_MARKER not in text, f"an internal update reached {path}"


def test_every_api_operation_answers_as_documented_and_never_500(app, api_world):
    """Malformed and unexpected API input: no 500, no answer outside the OpenAPI document."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, tried = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        tried.append(operation.label)
        try:
            call_with_generated_cases(
                operation,
                api_world["headers"],
                {**api_world["ids"], "maintenance": api_world["maintenance"]},
            )
        except Exception as error:  # collected: one report for every operation that failed
            failures.append(f"{operation.label}: {type(error).__name__}: {str(error)[:1500]}")
    assert len(tried) >= 40  # every documented operation was exercised
    assert failures == [], "\n\n".join(failures)


def call_with_generated_cases(operation, headers: dict, ids: dict) -> None:
    real_ids = dict(ids)
    if operation.path.startswith("/maintenance/"):
        real_ids["id"] = ids["maintenance"]

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy(), real=st.integers(0, 3).map(bool))
    def run(case, real):
        if real and case.path_parameters:  # most calls reach existing objects
            case.path_parameters = {name: real_ids.get(name, value)
                                    for name, value in case.path_parameters.items()}  # fmt: skip
        case.call_and_validate(headers=headers, checks=CHECKS,
                               additional_checks=[no_secret_reaches_the_public])  # fmt: skip

    run()
