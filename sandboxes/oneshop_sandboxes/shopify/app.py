"""The Admin API over HTTP: `/admin/api/{version}/graphql.json`, the token endpoint, and
bulk operations' result files (`/_bulk/{num}.jsonl`, signed, no token).

Each GraphQL request is parsed, validated against the real 2026-04 schema when it is
present (then against the sandbox's subset), priced, charged to the leaky bucket,
executed, and answered with `extensions.cost`, as Shopify does.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    execute_sync,
    parse,
    validate,
)
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from oneshop_sandboxes.shopify.cost import query_cost
from oneshop_sandboxes.shopify.sdl import SUBSET_SDL

if TYPE_CHECKING:
    from oneshop_sandboxes.shopify.control import ShopifySandbox

SCHEMA_FILE = "shopify-admin-2026-04.graphql"
SERVED_VERSION = "2026-04"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
URLS = Map([
    Rule("/admin/api/<version>/graphql.json", endpoint="graphql", methods=["POST"]),
    Rule("/admin/oauth/access_token", endpoint="token", methods=["POST"]),
    # Bulk operation results; on Shopify a signed storage URL on another host.
    Rule("/_bulk/<name>.jsonl", endpoint="bulk_file", methods=["GET"]),
])


def specs_dir() -> Path | None:
    """`$ONESHOP_SPECS_DIR`, else `../shared/specs` beside the repository."""
    import os

    env = os.environ.get("ONESHOP_SPECS_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3] / ".." / "shared" / "specs")
    return next((c.resolve() for c in candidates if (c / SCHEMA_FILE).is_file()), None)


@cache
def real_schema() -> GraphQLSchema | None:
    """The real Admin schema, parsed once per process (3.4 MB: it takes seconds)."""
    found = specs_dir()
    if found is None:
        return None
    return build_schema((found / SCHEMA_FILE).read_text(encoding="utf-8"),
                        assume_valid_sdl=True)


@cache
def subset_schema() -> GraphQLSchema:
    return build_schema(SUBSET_SDL)


def error_json(err: GraphQLError, code: str) -> dict[str, Any]:
    out: dict[str, Any] = {"message": err.message}
    if err.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in err.locations]
    if err.path:
        out["path"] = list(err.path)
    out["extensions"] = {"code": (err.extensions or {}).get("code", code)}
    return out


def validation_code(message: str) -> str:
    for needle, code in (("Cannot query field", "undefinedField"),
                         ("Unknown argument", "argumentNotAccepted"),
                         ("Unknown type", "undefinedType"), ("Variable", "variableMismatch"),
                         ("required", "missingRequiredArguments"),
                         ("Unknown directive", "undefinedDirective")):
        if needle in message:
            return code
    return "validationError"


@lru_cache(maxsize=512)
def check_document(text: str) -> tuple[Any, list[dict[str, Any]]]:
    """Parse and validate: Shopify's `errors` array for a document it would refuse.

    Cached by text: a connector sends the same few documents with new variables, and
    validating against the 3.4 MB schema was most of the sandbox's time.
    """
    try:
        document = parse(text)
    except GraphQLError as err:
        return None, [error_json(err, "parseError")]
    for schema, why in ((real_schema(), ""), (subset_schema(), " (not emulated by the sandbox)")):
        if schema is None:
            continue
        problems = validate(schema, document)
        if problems:
            return None, [dict(error_json(p, validation_code(p.message)),
                               message=p.message + why) for p in problems]
    return document, []


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None,
                  ) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json",
                    headers=headers)


def api_app(sandbox: ShopifySandbox) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        adapter = URLS.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
        except Exception:  # werkzeug's NotFound / MethodNotAllowed
            response = json_response({"errors": "Not Found"}, 404)
        else:
            response = (graphql_endpoint(sandbox, request) if endpoint == "graphql"
                        else bulk_file(sandbox, str(args["name"]), request)
                        if endpoint == "bulk_file" else token_endpoint(sandbox, request))
        sandbox.after_response()
        result: Iterable[bytes] = response(environ, start_response)
        return result
    return app


def bulk_file(sandbox: ShopifySandbox, name: str, request: Request) -> Response:
    """A result file: no access token (the URL is signed), 403 once the URL expired."""
    with sandbox.state.lock:
        status, body = sandbox.bulk.download(name, request.args.get("sig", ""))
    return Response(body, status=status, mimetype="application/jsonl" if status == 200
                    else "application/xml")


def token_endpoint(sandbox: ShopifySandbox, request: Request) -> Response:
    """The client-credentials grant: form or JSON body, `access_token` + `expires_in`."""
    body = request.get_json(silent=True) if request.is_json else request.form
    body = body or {}
    if body.get("grant_type") != "client_credentials":
        return json_response({"error": "unsupported_grant_type"}, 400)
    if sandbox.revoked or (body.get("client_id"), body.get("client_secret")) != (
            sandbox.client_id, sandbox.client_secret):
        return json_response({"error": "invalid_client",
                              "error_description": "Client authentication failed."}, 400)
    token = f"shpat_{secrets.token_hex(16)}"
    sandbox.mint(token)
    return json_response({"access_token": token, "scope": sandbox.SCOPES,
                          "expires_in": sandbox.token_lifetime_s})


def read_body(request: Request) -> tuple[str, dict[str, Any], str | None] | None:
    if request.mimetype == "application/graphql":
        return request.get_data(as_text=True), {}, None
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return None
    variables = body.get("variables") or {}
    return body["query"], variables if isinstance(variables, dict) else {}, \
        body.get("operationName")


def graphql_endpoint(sandbox: ShopifySandbox, request: Request) -> Response:
    if not sandbox.token_valid(request.headers.get("X-Shopify-Access-Token", "")):
        return json_response({"errors": INVALID_TOKEN}, 401)
    parsed = read_body(request)
    if parsed is None:
        return json_response({"errors": {"query": "Required parameter missing or invalid"}},
                             400)
    text, variables, operation_name = parsed
    document, errors = check_document(text)
    if document is None:
        return json_response({"errors": errors})
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    operation = next((o for o in operations if operation_name in (None, o.name and
                                                                 o.name.value)), None)
    if operation is None:
        return json_response({"errors": [{"message": "No operation named "
                                          f"{operation_name!r}"}]})
    return run_operation(sandbox, document, operation, fragments, variables, operation_name,
                         request.host_url.rstrip("/"))


def refuse_by_cost(sandbox: ShopifySandbox, requested: int, headers: dict[str, str],
                   ) -> Response | None:
    """Over the single-query cap, or more than the bucket holds: refused before running."""
    cap = sandbox.max_query_cost
    if requested > cap:
        return json_response({"errors": [{
            "message": f"Query cost is {requested}, which exceeds the single query max cost "
                       f"limit ({cap}).",
            "extensions": {"code": "MAX_COST_EXCEEDED", "cost": requested,
                           "maxCost": cap}}]}, headers=headers)
    if sandbox.bucket.take(requested):
        return None
    cost = {"requestedQueryCost": requested, "actualQueryCost": None,
            "throttleStatus": sandbox.bucket.status()}
    return json_response({"errors": [{"message": "Throttled", "extensions": {
        "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
        "extensions": {"cost": cost}}, sandbox.throttle_http_status, headers)


def run_operation(sandbox: ShopifySandbox, document: Any, operation: OperationDefinitionNode,
                  fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any],
                  operation_name: str | None, host_url: str = "http://sandbox") -> Response:
    schema = subset_schema()
    requested = query_cost(schema, operation, fragments, variables,
                           lists=sandbox.list_pricing)
    headers = {"X-Shopify-API-Version": SERVED_VERSION}
    refusal = refuse_by_cost(sandbox, requested, headers)
    if refusal is not None:
        return refusal
    if operation.operation.value == "mutation":
        sandbox.count_write()
    with sandbox.state.lock:
        root = sandbox.root
        root.search_warnings.clear()
        root.host_url = host_url
        result = execute_sync(schema, document, root_value=root.value(),
                         variable_values=variables, operation_name=operation_name)
        warnings = list(root.search_warnings)
    actual = query_cost(schema, operation, fragments, variables, result.data or {})
    sandbox.bucket.refund(requested - actual)
    payload: dict[str, Any] = {}
    if result.errors:
        payload["errors"] = [error_json(e, "INTERNAL_SERVER_ERROR") for e in result.errors]
    payload["data"] = result.data
    payload["extensions"] = {"cost": {"requestedQueryCost": requested,
                                      "actualQueryCost": actual,
                                      "throttleStatus": sandbox.bucket.status()}}
    if warnings:
        payload["extensions"]["search"] = [{"path": ["orders"], "query": "",
                                            "warnings": [{"field": f, "message": "Invalid search "
                                                          "field for this query."}
                                                         for f in warnings]}]
    sandbox.flush_webhooks()
    return json_response(payload, headers=headers)
