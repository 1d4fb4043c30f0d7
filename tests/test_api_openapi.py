"""The OpenAPI description is served and describes both endpoints."""


def test_the_openapi_description_lists_both_endpoints(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/leads", "/activities"}
    assert {"201", "200", "400", "401", "413", "415"} <= set(document["paths"]["/leads"]["post"]["responses"])
