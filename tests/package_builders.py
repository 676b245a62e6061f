"""A minimal connector package that passes every lint rule, to break one rule at a time."""

from __future__ import annotations

import copy
import json
from pathlib import Path


def swagger() -> dict:
    return {
        "swagger": "2.0",
        "info": {
            "title": "Northwind Tasks",
            # 62 characters: inside 30..500.
            "description": "Create, list and complete tasks in Northwind from your flows.",
            "version": "1.0",
            "contact": {
                "name": "Northwind Support",
                "url": "https://northwind.io/support",
                "email": "support@northwind.io",
            },
        },
        "host": "api.northwind.io",
        "basePath": "/v1",
        "schemes": ["https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": {
            "/tasks": {
                "get": {
                    "summary": "List tasks",
                    "description": "Lists the tasks of the signed-in user.",
                    "operationId": "ListTasks",
                    "parameters": [{"$ref": "#/parameters/Top"}],
                    "responses": {
                        "200": {
                            "description": "The tasks.",
                            "schema": {"type": "array", "items": {"$ref": "#/definitions/Task"}},
                        },
                        "default": {"description": "An error."},
                    },
                },
                "post": {
                    "summary": "Create a task",
                    "description": "Creates a task.",
                    "operationId": "CreateTask",
                    "parameters": [
                        {
                            "name": "body",
                            "in": "body",
                            "required": True,
                            "schema": {"$ref": "#/definitions/Task"},
                        }
                    ],
                    "responses": {
                        "201": {"description": "Created.", "schema": {"$ref": "#/definitions/Task"}}
                    },
                },
            },
            "/tasks/{id}": {
                "delete": {
                    "summary": "Delete a task",
                    "description": "Deletes a task.",
                    "operationId": "DeleteTask",
                    "x-ms-visibility": "advanced",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "type": "string"}
                    ],
                    "responses": {"204": {"description": "Deleted."}},
                }
            },
        },
        "parameters": {
            "Top": {"name": "top", "in": "query", "type": "integer", "default": 50},
        },
        "definitions": {
            "Task": {"type": "object", "properties": {"id": {"type": "string"}}},
        },
        "x-ms-connector-metadata": [
            {"propertyName": "Website", "propertyValue": "https://northwind.io"},
            {"propertyName": "Privacy policy", "propertyValue": "https://northwind.io/privacy"},
            {"propertyName": "Categories", "propertyValue": "Productivity;Collaboration"},
        ],
    }


def properties() -> dict:
    return {
        "properties": {
            "iconBrandColor": "#3c1d6e",
            "capabilities": [],
            "connectionParameters": {"api_key": {"type": "securestring"}},
        }
    }


def write_package(
    folder: Path,
    swagger_doc: object | None = None,
    properties_doc: object | None = None,
    *,
    readme: bool = True,
    raw_swagger: str | bytes | None = None,
) -> Path:
    """A package folder; `None` documents mean the minimal valid ones."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "apiDefinition.swagger.json"
    if raw_swagger is not None:
        data = raw_swagger.encode("utf-8") if isinstance(raw_swagger, str) else raw_swagger
        target.write_bytes(data)
    else:
        doc = swagger() if swagger_doc is None else swagger_doc
        target.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    doc = properties() if properties_doc is None else properties_doc
    (folder / "apiProperties.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
    if readme:
        (folder / "readme.md").write_text("# Northwind Tasks\n", encoding="utf-8")
    return folder


def changed(change, document=None) -> dict:
    """A deep copy of `document` (default: the minimal Swagger) after `change(doc)`."""
    doc = copy.deepcopy(swagger() if document is None else document)
    change(doc)
    return doc
