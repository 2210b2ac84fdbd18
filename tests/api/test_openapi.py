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
