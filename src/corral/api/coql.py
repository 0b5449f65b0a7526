"""POST /coql: a COQL query (Zoho's CRM Object Query Language) answered as rows."""

from __future__ import annotations

from starlette.responses import Response

from corral import envelopes
from corral.api.http import Call, json_response
from corral.api.records import SCOPE_NAME_RE, module_scopes
from corral.errors import InvalidQuery

COQL_SCOPE = "ZohoCRM.coql.READ"
READ_MESSAGE = "Permission denied to read records"


def run_query(call: Call) -> Response:
    """Scopes: ZohoCRM.coql.READ and the module's read scope (Zoho's documented pair); then
    the caller's profile must let them view every module the query reads records of."""
    principal = call.authenticate()
    principal.require_scope(COQL_SCOPE)
    body = call.json()
    text = body.get("select_query") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise InvalidQuery("invalid query formed", {"reason": "select_query is mandatory",
                                                    "json_path": "$.select_query"})
    service = call.corral.coql
    query = service.parse(text)
    call.corral.registry.refresh()
    module = call.corral.registry.get(query.module)
    if module is None:  # as for a module of that name: no probing which exist without scope
        name = query.module.lower()
        names = {"custom"} | ({name} if SCOPE_NAME_RE.fullmatch(name) else set())
        principal.require_scope(*[f"ZohoCRM.modules.{n}.READ" for n in sorted(names)])
        raise InvalidQuery("invalid query formed", {"module": query.module,
                                                    "reason": "the module name is invalid"})
    principal.require_scope(*module_scopes(module, "READ"))
    compiled = service.compile(query, module, version=call.version,
                               tz=call.corral.query.principal_tz(principal))
    for name in sorted(compiled.modules):
        principal.require_module_permission(name, "view", READ_MESSAGE)
    return json_response(envelopes.coql_page(service.run(compiled),
                                             call.corral.query.principal_tz(principal)))
