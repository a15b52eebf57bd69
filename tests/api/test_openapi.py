"""The hand-written OpenAPI document is valid and matches the routes the app really has."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from publisher.models import Role
from publisher.web.api.openapi import OPERATIONS
from publisher.web.api.openapi_links import LINKS

PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def document(client):
    response = client.get(PREFIX + "/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def registered_operations(app) -> set[tuple[str, str]]:
    """(path in OpenAPI style, method) for every /api/v1 route."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api_v1."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule).removeprefix(PREFIX)
        operations |= {(path, m.lower()) for m in rule.methods - IGNORED_METHODS}
    return operations


def documented_operations(document) -> set[tuple[str, str]]:
    methods = {"get", "put", "post", "delete", "patch"}
    return {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in methods
    }


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_every_route_and_method_is_documented_and_nothing_else(app, document):
    assert document["servers"] == [{"url": PREFIX}]
    assert documented_operations(document) == registered_operations(app)


def test_the_document_describes_the_resources_and_bearer_tokens(document):
    schemas = document["components"]["schemas"]
    assert {"Incident", "Component", "Maintenance", "RosterLine", "TimelineItem", "Error"} <= set(
        schemas
    )
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["security"] == [{"bearerAuth": []}]


def test_every_operation_documents_its_errors(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or path == "/openapi.json":
                continue
            codes = set(operation["responses"])
            assert {"401", "403"} <= codes, (path, method)
            assert codes & {"200", "201", "204"}, (path, method)
            if path.count("{"):
                assert "404" in codes, (path, method)
            if method in {"post", "patch"}:
                assert {"400", "422"} <= codes, (path, method)


def test_operation_ids_are_unique(document):
    ids = [
        op["operationId"]
        for item in document["paths"].values()
        for key, op in item.items()
        if key != "parameters"
    ]
    assert len(ids) == len(set(ids))


def operations_by_id(document) -> dict[str, tuple[str, dict]]:
    return {
        operation["operationId"]: (path, operation)
        for path, item in document["paths"].items()
        for key, operation in item.items()
        if key != "parameters"
    }


def documented_links(document):
    """(source operationId, its answer's schema, link name, Link Object) for every link."""
    for source, (_path, operation) in operations_by_id(document).items():
        for answer in operation["responses"].values():
            for name, link in answer.get("links", {}).items():
                yield source, answer["content"]["application/json"]["schema"], name, link


def answer_has(schemas: dict, schema: dict, pointer: str) -> bool:
    """Whether the answer's schema has the field a `$response.body#/...` pointer names."""
    for part in pointer.strip("/").split("/"):
        schema = resolved(schemas, schema)
        if part.isdigit():
            schema = schema["items"]
            continue
        fields = dict(schema.get("properties", {}))
        for branch in schema.get("allOf", []):  # Maintenance: an Incident, and more
            fields |= resolved(schemas, branch).get("properties", {})
        if part not in fields:
            return False
        schema = fields[part]
    return True


def resolved(schemas: dict, schema: dict) -> dict:
    return schemas[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema


def link_expressions(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from link_expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from link_expressions(item)
    elif isinstance(value, str) and value.startswith("$"):
        yield value


def test_every_link_fills_parameters_and_body_fields_its_target_has(document):
    operations = operations_by_id(document)
    schemas = document["components"]["schemas"]
    links = list(documented_links(document))
    assert len(links) >= 100
    for source, _answer, name, link in links:
        assert link["operationId"] in operations, (source, name)
        path, target = operations[link["operationId"]]
        filled = set()
        for parameter in link.get("parameters", {}):
            location, _dot, parameter_name = parameter.partition(".")
            assert location == "path", (source, name)
            filled.add(parameter_name)
        assert filled == set(re.findall(r"\{(\w+)\}", path)), (source, name)  # all, no other
        if "requestBody" in link:
            body = target["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            fields = schemas[body.rsplit("/", 1)[1]]["properties"]
            assert set(link["requestBody"]) <= set(fields), (source, name)


def test_every_operation_given_links_is_one_the_document_has():
    """A misspelt source in openapi_links.LINKS would drop its links without a word."""
    assert set(LINKS) <= {op.op_id for op in OPERATIONS}


def test_every_link_reads_a_field_its_answer_has(document):
    schemas = document["components"]["schemas"]
    for source, answer, name, link in documented_links(document):
        for expression in link_expressions([link.get("parameters"), link.get("requestBody")]):
            if expression.startswith("$response.body#"):
                pointer = expression.removeprefix("$response.body#")
                assert answer_has(schemas, answer, pointer), (source, name, expression)
            else:
                assert expression.startswith("$request.path."), (source, name, expression)


def test_a_client_can_follow_the_links_from_declaring_an_incident_to_revising_its_update(
    document, login, api_component
):
    """Each step's path ids and body fields come only from the link and the answer before it."""
    manager, comms = login(Role.INCIDENT_MANAGER), login(Role.COMMS_MANAGER)
    steps = [("createMessage", comms, {"incident_status": "identified", "body": "Found it."}),
             ("submitMessage", comms, {}), ("approveMessage", manager, {}),
             ("publishMessage", comms, {}), ("reviseMessage", comms, {})]  # fmt: skip
    by_id = {op.op_id: op for op in OPERATIONS}
    source, answer, path_ids = "declareIncident", manager.declare(api_component), {}
    for target, caller, fields in steps:
        link = link_to(document, source, target)
        path_ids = {
            name.removeprefix("path."): followed(expression, answer, path_ids)
            for name, expression in link.get("parameters", {}).items()
        }
        body = followed(link.get("requestBody", {}), answer, path_ids) | fields
        op = by_id[target]
        response = caller(op.method.upper(), op.path.format(**path_ids), json=body or None)
        assert response.status_code in (200, 201), (source, target, response.get_json())
        source, answer = target, response.get_json()
    assert answer["state"] == "draft" and answer["revision_of"]


def link_to(document, source: str, target: str) -> dict:
    _path, operation = operations_by_id(document)[source]
    links = [
        a["links"][target] for a in operation["responses"].values() if target in a.get("links", {})
    ]
    assert links, f"{source} has no link to {target}"
    return links[0]


def followed(value, answer: dict, path_ids: dict):
    """A link's value with its runtime expressions read from `answer` and the request's path."""
    if isinstance(value, dict):
        return {name: followed(item, answer, path_ids) for name, item in value.items()}
    if isinstance(value, str) and value.startswith("$request.path."):
        return path_ids[value.removeprefix("$request.path.")]
    if isinstance(value, str) and value.startswith("$response.body#/"):
        for part in value.removeprefix("$response.body#/").split("/"):
            answer = answer[int(part) if part.isdigit() else part]
        return answer
    return value


def test_every_request_body_says_a_field_it_does_not_name_is_refused(document):
    schemas = document["components"]["schemas"]
    bodies = [
        operation["requestBody"]["content"]["application/json"]["schema"]
        for item in document["paths"].values()
        for key, operation in item.items()
        if key != "parameters" and "requestBody" in operation
    ]
    assert len(bodies) >= 30
    assert all(resolved(schemas, body)["additionalProperties"] is False for body in bodies)
