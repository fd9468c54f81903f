"""The OpenAPI document of ``vulnerable_api.py`` (both variants serve the same contract)."""

from __future__ import annotations

from typing import Any

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
NOTE = {
    "type": "object",
    "required": ["id", "owner", "title", "body"],
    "properties": {
        "id": {"type": "integer"},
        "owner": {"type": "string"},
        "title": {"type": "string"},
        "body": {"type": "string"},
    },
}
USER = {
    "type": "object",
    "required": ["username", "is_admin"],
    "properties": {
        "username": {"type": "string"},
        "email": {"type": "string"},
        "is_admin": {"type": "boolean"},
    },
}
CREDENTIALS = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "username": {"type": "string", "minLength": 1, "maxLength": 64},
        "password": {"type": "string", "minLength": 1, "maxLength": 128},
    },
}
SIGNUP = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "username": {"type": "string", "pattern": "^[a-z0-9_]{3,30}$"},
        "password": {"type": "string", "minLength": 8, "maxLength": 64},
        "email": {"type": "string", "format": "email", "maxLength": 100},
    },
}


def _json(schema: dict[str, Any], description: str = "ok") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _json(ERROR, "error") for code in (400, *codes)}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


PUBLIC: list[dict[str, Any]] = []
SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "notes (a deliberately vulnerable API and its clean twin)", "version": "1.0"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
    },
    "security": [{"bearer": []}],
    "paths": {
        "/healthz": {"get": {"security": PUBLIC, "responses": {"200": _json({"type": "object"})}}},
        "/createdb": {
            "get": {
                "security": PUBLIC,
                "summary": "Recreate the database (destructive)",
                "responses": {"200": _json({"type": "object"})},
            }
        },
        "/api/signup": {
            "post": {
                "security": PUBLIC,
                "requestBody": _body(SIGNUP),
                "responses": {"201": _json(USER), **_errors(409)},
            }
        },
        "/api/login": {
            "post": {
                "security": PUBLIC,
                "requestBody": _body(CREDENTIALS),
                "responses": {
                    "200": _json(
                        {"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}}
                    ),
                    **_errors(401, 404, 429),
                },
            }
        },
        "/api/users/{username}": {
            "get": {
                "parameters": [_path_param("username", {"type": "string", "minLength": 1, "maxLength": 64})],
                "responses": {"200": _json(USER), **_errors(401, 403, 404)},
            }
        },
        "/api/users/{username}/password": {
            "put": {
                "parameters": [_path_param("username", {"type": "string", "minLength": 1, "maxLength": 64})],
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["password"],
                        "properties": {"password": {"type": "string", "minLength": 8, "maxLength": 64}},
                    }
                ),
                "responses": {"204": {"description": "changed"}, **_errors(401, 403, 404)},
            }
        },
        "/api/notes": {
            "get": {
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["items", "limit"],
                            "properties": {
                                "items": {"type": "array", "items": NOTE},
                                "limit": {"type": "integer"},
                            },
                        }
                    ),
                    **_errors(401),
                },
            },
            "post": {
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["title"],
                        "properties": {
                            "title": {"type": "string", "minLength": 1, "maxLength": 100},
                            "body": {"type": "string", "maxLength": 1000},
                        },
                    }
                ),
                "responses": {"201": _json(NOTE), **_errors(401)},
            },
        },
        "/api/notes/{note_id}": {
            "get": {
                "parameters": [_path_param("note_id", {"type": "integer"})],
                "responses": {"200": _json(NOTE), **_errors(401, 404)},
            },
            "delete": {
                "parameters": [_path_param("note_id", {"type": "integer"})],
                "responses": {"204": {"description": "deleted"}, **_errors(401, 404)},
            },
        },
        "/api/check-email": {
            "get": {
                "parameters": [
                    {
                        "name": "email",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 200},
                    }
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["valid"],
                            "properties": {"valid": {"type": "boolean"}},
                        }
                    ),
                    **_errors(401),
                },
            }
        },
        "/api/avatar": {
            "post": {
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["url"],
                        "properties": {"url": {"type": "string", "format": "uri", "maxLength": 500}},
                    }
                ),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"bytes": {"type": "integer"}, "fetched": {"type": "boolean"}},
                        }
                    ),
                    **_errors(401),
                },
            }
        },
        "/api/admin/users": {
            "get": {
                "tags": ["admin"],
                "summary": "Every user (admins only)",
                "responses": {"200": _json({"type": "object"}), **_errors(401, 403)},
            }
        },
    },
}


def body_schema(path: str, method: str) -> dict[str, Any]:
    """The JSON schema of an operation's request body."""
    schema: dict[str, Any] = SPEC["paths"][path][method]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    return schema
