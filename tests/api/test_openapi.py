import re

from openapi_spec_validator import validate


def test_the_openapi_document_validates_and_documents_every_error(client):
    spec = client.get("/api/openapi.json").json
    validate(spec)
    buy = spec["paths"]["/api/v1/activations"]["post"]["responses"]
    for status in ("201", "202", "401", "402", "404", "409", "422", "429", "503"):
        assert status in buy, status
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message"}
    amount = spec["components"]["schemas"]["Balance"]["properties"]["balance"]
    assert amount["type"] == "string"
    assert {"apiKey", "bearer", "apiKeyQuery"} <= set(spec["components"]["securitySchemes"])


def test_the_interactive_reference_is_served_from_the_apps_own_files(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    assert "//cdn" not in html and "https://" not in html.split("<body")[0]
    bundle = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.data) > 100_000


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_stable_camel_case_operation_id(client):
    spec = client.get("/api/openapi.json").json
    ids = {name: operation.get("operationId") for name, operation in operations(spec)}
    assert [name for name, found in ids.items() if not found] == []
    assert all(re.fullmatch(r"[a-z][a-zA-Z]+", found) for found in ids.values()), ids
    assert len(set(ids.values())) == len(ids)
    assert ids["POST /api/v1/activations"] == "createActivation"
    assert ids["GET /api/v1/catalog/rent-prices"] == "listRentPrices"


def inline_objects(schema, where: str):
    """Objects with properties written inline instead of as a named component ($ref)."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    if schema.get("properties"):
        yield where
    for key in ("items", "additionalProperties"):
        yield from inline_objects(schema.get(key), f"{where}.{key}")
    for key in ("allOf", "anyOf", "oneOf"):
        for n, part in enumerate(schema.get(key, [])):
            yield from inline_objects(part, f"{where}.{key}[{n}]")


def test_every_nested_object_is_a_named_component(client):
    spec = client.get("/api/openapi.json").json
    found = []
    for name, component in spec["components"]["schemas"].items():
        for field, prop in component.get("properties", {}).items():
            found += inline_objects(prop, f"{name}.{field}")
    for name, operation in operations(spec):
        for status, answer in operation.get("responses", {}).items():
            for content in answer.get("content", {}).values():
                found += inline_objects(content.get("schema", {}).get("items"), f"{name} {status}")
    assert found == []
    assert spec["components"]["schemas"]["Activation"]["properties"]["sms"]["items"] == {
        "$ref": "#/components/schemas/Sms"
    }
