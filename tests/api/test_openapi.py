"""The hand-written OpenAPI document is valid and matches the routes the app really has."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

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
