"""/api/v1 against its own OpenAPI document, with generated requests (schemathesis).

Every operation is called with data built from the document, valid and invalid, by an
admin's token: no answer may be a 500, and every answer must match the document. After
each request the public outputs are read back: none may show a draft or an internal
update (seeded with unique markers), whatever the API was just asked to do. The stateful
run chains calls along the document's links (declare, draft, submit, publish, revise...),
each taking its ids from an earlier answer, under the same checks and the two only a
sequence can fail (what was just created is there, what was deleted is gone).
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from schemathesis.checks import (
    content_type_conformance,
    ensure_resource_availability,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.engine.errors import is_inconsistent_replay
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.generation.stateful.state_machine import normalize_name

from publisher.extensions import db
from publisher.models import Audience, MessageState, Role

from ..staff import bearer
from ..web.test_access_matrix import world  # noqa: F401  (a fixture, used by api_world)

EXAMPLES = 8  # per operation: bounded, so the suite stays fast
SCENARIOS, STEPS = 8, 10  # the stateful run: call sequences, and calls in each (bounded too)
RUNS = 3  # at most, when Hypothesis ends one early (see the stateful test)
MIN_LINKS_FOLLOWED = 6  # distinct links whose ids reached an existing resource (a 2xx answer)
DRAFT_MARKER = "zq-draft-7c1e"
INTERNAL_MARKER = "zq-internal-93ab"
PUBLIC_OUTPUTS = ["/", "/history", "/history.rss", "/history.atom", "/api/v2/summary.json",
                  "/api/v2/incidents.json", "/api/v2/incidents/unresolved.json"]  # fmt: skip
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]  # fmt: skip
# Only the document's own links (links schemathesis guesses would hide a removed one), and
# valid data, so that sequences get past their first call.
STATEFUL = {"inference": {"algorithms": []}, "generation": {"mode": "positive"}}
# Only a sequence can fail these: a resource just created answers 404, a deleted one does not.
STATEFUL_CHECKS = [*CHECKS, ensure_resource_availability, use_after_free]


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
    email = world["people"][Role.INCIDENT_MANAGER].email
    references = {"template_id": world["template"].id, "incident_manager_email": email,
                  "user_email": email, "owner_email": email,
                  "component": world["component"].public_id}  # fmt: skip
    headers = bearer(world["people"][Role.ADMIN])
    db.session.commit()
    return {"headers": headers, "ids": ids, "maintenance": world["maintenance"].public_id,
            "references": references}  # fmt: skip


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


def test_chained_api_calls_along_the_links_answer_as_documented_and_never_500(app, api_world):
    """Call sequences on resources just made, changed or deleted: no 500, no off-document answer."""
    config = SchemathesisConfig.from_dict({"phases": {"stateful": STATEFUL}})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    followed: Counter[str] = Counter()
    problems: list[str] = []
    machine = linked_state_machine(schema, api_world, followed, problems)
    for _run in range(RUNS):
        try:
            run_state_machine_as_test(machine, settings=settings(
                max_examples=SCENARIOS, stateful_step_count=STEPS, deadline=None, database=None,
                phases=[Phase.generate], suppress_health_check=list(HealthCheck)))  # fmt: skip
            break
        except Exception as error:
            if problems:  # a check failed: reported below, whatever Hypothesis made of it
                break
            # A replayed prefix met API state that has moved on: the run ended early, with
            # every call made so far checked. Run again.
            if not (isinstance(error, Flaky) or is_inconsistent_replay(error)):
                raise
    assert problems == [], "\n\n".join(problems)
    assert len(followed) >= MIN_LINKS_FOLLOWED, followed


def linked_state_machine(schema, api_world: dict, followed: Counter, problems: list):
    """schemathesis's state machine over the document's links, calling with the test token;
    it counts in `followed` each link whose path ids reached an existing resource (a 2xx), and
    notes in `problems` every call that failed a check."""
    headers = api_world["headers"]
    machine = schema.as_state_machine()

    class Linked(machine):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def step(self, input):
            if isinstance(input.case.body, dict):
                input.case.body = with_real_references(input.case.body, api_world["references"])
            try:
                output = super().step(input)
            except Exception as error:
                problems.append(f"{input.case.operation.label}: {error}"[:1500])
                raise
            if _path_ids_from_a_link(input) and output.response.status_code < 300:
                followed[input.transition.id] += 1
            return output

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=STATEFUL_CHECKS, headers=headers,
                                   additional_checks=[no_secret_reaches_the_public],
                                   transport_kwargs=kwargs, recorder=self.recorder)  # fmt: skip

    # Scenarios start where a client starts, from a list or a create: ids come from answers.
    operations = [result.ok() for result in schema.get_all_operations()]
    with_ids = {normalize_name(f"RANDOM -> {op.label}") for op in operations if op.path_parameters}
    for name in machine.root_rules & with_ids:
        setattr(Linked, name, None)
    return Linked


def with_real_references(body: dict, real: dict) -> dict:
    """Fields naming other things (a template, an account, components) name ones that exist, as
    a client's would: made-up names would end nearly every sequence at its first call (a 422)."""
    body = {name: real.get(name, value) for name, value in body.items()}
    if isinstance(body.get("components"), list):
        body["components"] = [{**item, "id": real["component"]} if isinstance(item, dict)
                              else real["component"] for item in body["components"]]  # fmt: skip
    return body


def _path_ids_from_a_link(input) -> bool:
    """The call's path parameters came from an earlier answer, through a documented link."""
    if input.transition is None or input.transition.is_inferred:
        return False
    return any(location == ParameterLocation.PATH for location, _ in input.applied_parameters)
