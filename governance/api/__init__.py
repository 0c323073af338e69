"""The JSON API v1 (/api/v1): personal bearer tokens, validated bodies, an OpenAPI document."""
