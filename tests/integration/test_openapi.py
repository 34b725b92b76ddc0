"""The OpenAPI document is complete (SPEC §0): every error an operation can answer, in the one
error shape, and examples that are the upstream KubeArmor and Falco samples."""

from __future__ import annotations

import json
from typing import Any

from alertwire.api.openapi import EXAMPLES_DIR
from tests.conftest import AppHarness
from tests.fixtures import FIXTURES, fixture_files

ERROR_REF = "#/components/schemas/ErrorOut"


async def document(api: AppHarness) -> dict[str, Any]:
    answer = await api.client.get("/openapi.json")
    assert answer.status_code == 200
    doc: dict[str, Any] = answer.json()
    return doc


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in doc["paths"].items()
            for method, op in ops.items()]


async def test_every_operation_declares_its_errors(api: AppHarness) -> None:
    """Operations that need a token declare 401 and 403, those naming a resource 404, those
    taking a JSON body 400, those validating input 422, and the state-dependent ones 409 and
    the size-limited ones 413; every error is documented with the ErrorOut shape and an
    example. FastAPI's own validation shape, which alertwire never answers, is gone."""
    doc = await document(api)
    assert "HTTPValidationError" not in json.dumps(doc)
    api_ops = [(m, p, op) for m, p, op in operations(doc) if p.startswith("/api/")]
    assert len(api_ops) == 49
    for method, path, op in api_ops:
        answers = op["responses"]
        assert {"401", "403"} <= answers.keys(), (method, path)
        if "{" in path:
            assert "404" in answers, (method, path)
        if "requestBody" in op:
            assert "400" in answers, (method, path)
        if op.get("parameters") or ("requestBody" in op and path != "/api/v1/alerts"):
            assert "422" in answers, (method, path)
        for code, answer in answers.items():
            if code.startswith("4"):
                content = answer["content"]["application/json"]
                assert content["schema"] == {"$ref": ERROR_REF}, (method, path, code)
                assert {"error", "message"} <= content["example"].keys()
    paths = doc["paths"]
    assert "413" in paths["/api/v1/alerts"]["post"]["responses"]
    for path, method in (("/api/v1/integrations/{integration_id}", "delete"),
                         ("/api/v1/integrations/{integration_id}/connect", "post"),
                         ("/api/v1/deliveries/{delivery_id}/retry", "post"),
                         ("/api/v1/tokens/{token_id}", "delete")):
        assert "409" in paths[path][method]["responses"], (method, path)
    error = doc["components"]["schemas"]["ErrorOut"]
    assert error["required"] == ["error", "message"]
    assert {"field", "errors", "line", "position", "expected"} <= error["properties"].keys()


async def test_error_answers_match_the_documented_shape(api: AppHarness) -> None:
    """Real 400, 401, 404, 413-free and 422 answers carry the fields ErrorOut documents."""
    doc = await document(api)
    required = doc["components"]["schemas"]["ErrorOut"]["required"]
    bad_json = await api.client.post("/api/v1/triggers", content=b"{",
                                     headers={"Content-Type": "application/json"})
    missing = await api.client.get("/api/v1/triggers/trg_none")
    invalid = await api.client.get("/api/v1/alerts", params={"filter": "Action ="})
    for answer, status in ((bad_json, 400), (missing, 404), (invalid, 422)):
        assert answer.status_code == status
        assert all(key in answer.json() for key in required), answer.json()
    assert invalid.json()["position"] == 8 and invalid.json()["expected"]


async def test_capture_operations_document_any_answer(api: AppHarness) -> None:
    """A bin answers whatever its owner configured: its operations declare any status and any
    content type, take any body, and the path below the bin is a documented parameter."""
    doc = await document(api)
    below = doc["paths"]["/hooks/{bin_id}/{path}"]
    assert set(below) == {"get", "post", "put", "patch", "delete", "head", "options"}
    for method, op in below.items():
        assert [p["name"] for p in op["parameters"]] == ["bin_id", "path"]
        assert op["responses"]["default"]["content"] == {"*/*": {"schema": {}}}
        assert ("requestBody" in op) == (method in ("post", "put", "patch", "delete"))


async def test_alert_examples_are_the_upstream_samples(api: AppHarness) -> None:
    """POST /api/v1/alerts offers every KubeArmor alert and log and every Falco event of the
    shared fixtures as an example, value for value, plus a mixed batch; the alert reads show
    a fixture in the §0 shape. The copies shipped in the package are byte-identical."""
    doc = await document(api)
    examples = doc["paths"]["/api/v1/alerts"]["post"]["requestBody"]["content"][
        "application/json"]["examples"]
    samples = {path.relative_to(FIXTURES).with_suffix("").as_posix().replace("/", "-"):
               json.loads(path.read_bytes()) for path in fixture_files()}
    assert len(samples) == 13
    assert {name: e["value"] for name, e in examples.items() if name != "batch"} == samples
    assert examples["batch"]["value"] == [samples["kubearmor-alerts-fim-touch-block-saas"],
                                          samples["falco-falco-write-below-binary-dir"]]
    for path in fixture_files():
        assert (EXAMPLES_DIR / path.relative_to(FIXTURES)).read_bytes() == path.read_bytes()
    assert len(list(EXAMPLES_DIR.rglob("*.json"))) == len(fixture_files())
    read = doc["paths"]["/api/v1/alerts/{alert_id}"]["get"]["responses"]["200"]["content"][
        "application/json"]["example"]
    assert read["source"] == "kubearmor"
    assert read["alert"] == samples["kubearmor-alerts-fim-touch-block-saas"]


async def test_request_examples_are_accepted(api: AppHarness) -> None:
    """The documented request examples work as they are: each alert example is accepted and
    stored as sent, and the integration, preview, filter, silence, token and drill examples
    answer 2xx."""
    doc = await document(api)
    alerts = doc["paths"]["/api/v1/alerts"]["post"]["requestBody"]["content"][
        "application/json"]["examples"]
    for name, example in alerts.items():
        posted = await api.client.post("/api/v1/alerts", json=example["value"])
        assert posted.status_code == 202, (name, posted.text)
        first = (await api.client.get(f"/api/v1/alerts/{posted.json()['ids'][0]}")).json()
        value = example["value"]
        assert first["alert"] == (value[0] if isinstance(value, list) else value)
    for path in ("/api/v1/integrations", "/api/v1/integrations/preview",
                 "/api/v1/triggers/test-filter", "/api/v1/silences", "/api/v1/tokens",
                 "/api/v1/drills"):
        content = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        for name, example in content["examples"].items():
            answer = await api.client.post(path, json=example["value"])
            assert answer.status_code in (200, 201), (path, name, answer.text)
