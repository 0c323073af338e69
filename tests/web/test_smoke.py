def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in to Steward" in response.data
