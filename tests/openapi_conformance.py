"""Requests and responses checked against an OpenAPI document (the one the api serves).

``Conformance(document)`` validates a JSON request body against its operation's ``requestBody`` schema
and a response against the schema documented for its status (a status the operation does not
document is a failure too), with JSON Schema 2020-12 (OpenAPI 3.1's dialect), ``$ref``s resolved
in the document. ``hooks()`` gives httpx event hooks that check every call a client makes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator, FormatChecker

_PARAM = re.compile(r"\{[^}/]+\}")


@dataclass
class Conformance:
    document: dict[str, Any]
    checked: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path template, status)
    errors_seen: list[tuple[str, str, int, str]] = field(default_factory=list)  # (+ error code)

    # ------------------------------------------------------------------ lookup
    def template(self, path: str) -> str:
        """The document's path template of a concrete path (literal segments win over parameters)."""
        parts = path.split("/")
        for template in sorted(self.document["paths"], key=lambda t: t.count("{")):
            segments = template.split("/")
            if len(segments) == len(parts) and all(
                s == p or _PARAM.fullmatch(s) for s, p in zip(segments, parts, strict=True)
            ):
                return template
        raise AssertionError(f"{path} is not in the document")

    def operation(self, method: str, template: str) -> dict[str, Any]:
        op = self.document["paths"][template].get(method.lower())
        assert op is not None, f"{method} {template} is not in the document"
        return op

    def _errors(self, schema: dict[str, Any], instance: Any) -> list[str]:
        root = {**schema, "components": self.document.get("components", {})}
        validator = Draft202012Validator(root, format_checker=FormatChecker())
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(instance)
        ]

    def request_errors(self, method: str, template: str, body: Any) -> list[str]:
        """Why ``body`` does not satisfy the operation's request body schema ([] when it does)."""
        op = self.operation(method, template)
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            return []  # an operation without a body: what the body guard makes of one is its answer
        return self._errors(content["application/json"]["schema"], body)

    # ------------------------------------------------------------------ checks
    def check_request(self, method: str, path: str, body: Any) -> None:
        template = self.template(path)
        problems = self.request_errors(method, template, body)
        assert not problems, f"{method} {path}: the request {body!r} breaks the document: {problems}"

    def check_response(self, method: str, path: str, status: int, body: Any) -> None:
        template = self.template(path)
        op = self.operation(method, template)
        documented = op["responses"]
        assert str(status) in documented, (
            f"{method} {template} answered {status}, documented: {sorted(documented)}; body {body!r}"
        )
        self.checked.append((method, template, status))
        content = documented[str(status)].get("content")
        if status == 204 or not content:
            assert body is None, f"{method} {template} {status} documents no body, got {body!r}"
            return
        schema = content["application/json"].get("schema", {})
        problems = self._errors(schema, body)
        assert not problems, (
            f"{method} {path} {status}: the response breaks the document: {problems}; {body!r}"
        )
        if status >= 400:
            code = body["error"]["code"]
            self.errors_seen.append((method, template, status, code))
            examples = content["application/json"].get("examples", {})
            codes = {e["value"]["error"]["code"] for e in examples.values()}
            assert code in codes, (
                f"{method} {template} {status} {code!r} is not documented (has {sorted(codes)})"
            )

    def hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """httpx event hooks: every call under /api/ checked. A request body the document refuses must
        be refused by the api too (a 4xx): a document that refuses what the api accepts is wrong."""

        def on_request(request: httpx.Request) -> None:
            if request.url.path.startswith("/api/") and request.content:
                try:
                    body = json.loads(request.content)
                except ValueError:
                    return  # not JSON on purpose: the api's 400 is checked on the response
                template = self.template(request.url.path)
                request.extensions["document_problems"] = self.request_errors(request.method, template, body)

        def on_response(response: httpx.Response) -> None:
            request = response.request
            if not request.url.path.startswith("/api/"):
                return
            response.read()
            body = response.json() if response.content else None
            problems = request.extensions.get("document_problems")
            if problems:
                assert 400 <= response.status_code < 500, (
                    f"{request.method} {request.url.path}: the document refuses {request.content!r} "
                    f"({problems}) but the api answered {response.status_code} {body!r}"
                )
            self.check_response(request.method, request.url.path, response.status_code, body)

        return {"request": [on_request], "response": [on_response]}
