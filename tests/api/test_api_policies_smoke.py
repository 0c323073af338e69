from tests import factories


def test_smoke(api_as, users, db):
    owner = api_as("owner")
    r = owner.post("policies", json={"title": "Access", "category": "Security", "body": "# A"})
    assert r.status_code == 201, r.json
    pid = r.json["id"]
    assert r.headers["Location"] == f"/api/v1/policies/{pid}"
    r = owner.get("policies")
    assert [p["id"] for p in r.json["items"]] == [pid]
    r = owner.patch(f"policies/{pid}", json={"version": 99, "title": "X"})
    assert r.status_code == 409, r.json
    r = owner.patch(f"policies/{pid}", json={"version": 1, "title": "X", "bogus": 1})
    assert r.status_code == 422 and r.json["error"]["details"][0]["field"] == "bogus", r.json
    r = owner.post(f"policies/{pid}/transitions", json={"status": "published"})
    assert r.status_code == 422, r.json
    print(r.json)
    r = owner.post(f"policies/{pid}/transitions", data="{", content_type="application/json")
    assert r.status_code == 400, r.json
    assert api_as("viewer").get(f"policies/{pid}").status_code == 404
    assert api_as(None).get("policies").status_code == 401
    for _ in range(3):
        factories.make_policy(users["owner"])
    r = owner.get("policies?limit=2")
    assert len(r.json["items"]) == 2 and r.json["next_cursor"]
    r2 = owner.get(f"policies?limit=2&cursor={r.json['next_cursor']}")
    assert len(r2.json["items"]) == 2 and r2.json["next_cursor"] is None
