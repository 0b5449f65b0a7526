"""What the contract fuzzer tolerates, each entry with one reason.

SPEC_QUIRKS: places where Zoho's OpenAPI v8 contradicts Zoho's own documented samples or cannot
express them; a schema failure matching an entry is not Corral's fault. Reviewed by hand: add an
entry only with the sample or rule that shows the spec is wrong, never to make a run green.

HANDED_OVER_5XX and HANDED_OVER_SHAPES: server errors and schema violations the fuzzer found in
code owned by other work, each with its owner and reproduction. While one of them is hit the test
is marked xfail (after every other check has passed), so they stay visible and hide nothing else.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Quirk:
    """Tolerate schema failures of these operations that match every given condition."""

    reason: str
    operations: tuple[str, ...]  # fnmatch patterns over Operation.label ("file:METHOD path")
    # "status" (undocumented status code) or a JSON Schema keyword: required, type ... ("*": any)
    kind: str
    statuses: tuple[int, ...] = ()  # empty: any status
    at: str = "*"  # fnmatch pattern over the failing instance path ("fields/*")
    # `required`: the missing keys; other keywords: the last path segment; empty: any
    keys: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()  # the answer's top-level error code; empty: any
    details: frozenset[str] = frozenset()  # one of these in the top-level error's details
    null: bool = False  # only where the failing value is null

    def matches(self, label: str, status: int, problem: Any, body: Any) -> bool:
        error = body if isinstance(body, dict) and "code" in body else {}
        details = error.get("details") if isinstance(error.get("details"), dict) else {}
        return (fnmatch.fnmatchcase(problem.kind, self.kind)
                and any(fnmatch.fnmatchcase(label, p) for p in self.operations)
                and (not self.statuses or status in self.statuses)
                and fnmatch.fnmatchcase(problem.path, self.at)
                and (not self.keys or problem.key in self.keys)
                and (not self.codes or error.get("code") in self.codes)
                and (not self.details or bool(self.details & set(details)))
                and (not self.null or problem.null))


def _keys(*names: str) -> frozenset[str]:
    return frozenset(names)


# Request-level failures (facts §2.2, §2.5): never wrapped, whatever an operation's 400 schema
# lists for its body errors.
REQUEST_LEVEL = _keys("REQUIRED_PARAM_MISSING", "INVALID_MODULE", "UNABLE_TO_PARSE_DATA_TYPE",
                      "NOT_SUPPORTED")
ERRORS = (400, 401, 403, 404)
URL_ID = ("an id in the URL that names nothing is INVALID_DATA with details.resource_path_index, "
          "top-level, as for every id in a Zoho URL (facts §2.4); {} documents no such error")

SPEC_QUIRKS: tuple[Quirk, ...] = (
    # --- status codes the files do not document
    Quirk("record.json documents only 200 for every operation; Zoho answers 201 (insert), "
          "202/207 (partial), 204 (nothing found) and 4xx errors on these calls (facts §2.1, "
          "§2.2)", ("record:*",), "status"),
    Quirk("blueprint.json documents only 200; Zoho's blueprint page lists 400 (INVALID_MODULE, "
          "RECORD_NOT_IN_PROCESS, ...), 403 and 404 errors", ("blueprint:*",), "status"),
    Quirk("an unknown job id answers NOT_FOUND 404 (Zoho's mass-update-status page, facts §5); "
          "mass_update.json documents 200 and 400 only", ("mass_update:GET *",), "status",
          statuses=(404,), codes=_keys("NOT_FOUND")),
    Quirk(URL_ID.format("users.json (200/204/500 for one user)"),
          ("users:GET /crm/v8/users/{user}",), "status", statuses=(400,),
          codes=_keys("INVALID_DATA"), details=_keys("resource_path_index")),
    Quirk("no preference configured answers 204, as every empty Zoho GET does (facts §2.1, §4); "
          "duplicate_check_preference.json documents 200 and 400 only",
          ("duplicate_check_preference:GET *",), "status", statuses=(204,)),
    Quirk("bulk_write.json documents only 200 for Upload File (with API_Exception among its "
          "bodies); Zoho's Upload File page lists its errors with 4xx statuses (FILE_TOO_LARGE "
          "413, INVALID_FILE_FORMAT 400, the header check) as every other call answers them",
          ("bulk_write:POST /crm/v8/upload",), "status", statuses=(400, 401, 403, 413)),
    # --- error bodies
    Quirk("error schemas enumerate only their samples' codes and messages (module_search.json "
          "allows only INVALID_REQUEST, record_count.json only INVALID_MODULE, layouts.json spells "
          "it InvalidModule, duplicate_check_preference.json ends messages with a period); Zoho's "
          "docs list more codes for the same calls (facts §2.5, §4, §5)", ("*",), "enum",
          statuses=ERRORS, keys=_keys("code", "message")),
    Quirk("request-level errors (module parameter, unparsable body) are one top-level object on "
          "every Zoho API (facts §2.2, §2.5); these 400 schemas list only wrapped body errors",
          ("fields:*", "territories:*", "duplicate_check_preference:*", "roles:*",
           "profiles:*"), "required",
          statuses=(400,), at="", keys=_keys("fields", "territories",
                                             "duplicate_check_preference", "roles", "profiles"),
          codes=REQUEST_LEVEL),
    Quirk("an unparsable body is a request-level error, one top-level 400 on every Zoho API "
          "(facts §2.2); notifications.json documents no 400 for Enable Notifications and only "
          "body errors (api_name, json_path) in the other methods' 400",
          ("notifications:*",), "status", statuses=(400,),
          codes=_keys("UNABLE_TO_PARSE_DATA_TYPE")),
    Quirk("issue 17's bad-input rule (owned by the lead): a NUL in a JSON key or string is "
          "refused while the body is parsed, before the operation runs: a request-level "
          "top-level 400 INVALID_DATA {json_path}, which notifications.json does not document",
          ("notifications:*",), "*", statuses=(400,), codes=_keys("INVALID_DATA"),
          details=_keys("json_path")),
    Quirk("notifications.json's 202 wrappers (MandatoryWrapper, InvalidValueWrapper ...) each "
          "allow a single error code for every item of `watch`; items failing for different "
          "reasons (one missing channel_id, one invalid) carry different codes in one array",
          ("notifications:*",), "enum", statuses=(202,), at="watch/*/code"),
    Quirk("as above: UNABLE_TO_PARSE_DATA_TYPE names no field of the body",
          ("notifications:*",), "required", statuses=(400,), at="details",
          codes=_keys("UNABLE_TO_PARSE_DATA_TYPE")),
    Quirk(URL_ID.format("fields.json (wrapped body errors only for Update Field)"),
          ("fields:PATCH *",), "required", statuses=(400,), at="", keys=_keys("fields"),
          codes=_keys("INVALID_DATA"), details=_keys("resource_path_index")),
    Quirk(URL_ID.format("fields.json (its INVALID_DATA details for Get Field name a body "
                        "api_name)"), ("fields:GET /crm/v8/settings/fields/{field}",),
          "required", statuses=(400,), at="details", codes=_keys("INVALID_DATA"),
          details=_keys("resource_path_index")),
    Quirk("parameter errors name the parameter in details.param_name (facts §2.5; "
          "duplicate_check_preference.json's own REQUIRED_PARAM_MISSING does); other files ask "
          "for `param`, `api_name` or `resource_path_index` instead", ("*",), "required",
          statuses=(400,), at="details", keys=_keys("param", "api_name", "resource_path_index"),
          codes=_keys("REQUIRED_PARAM_MISSING", "INVALID_MODULE")),
    Quirk("territories.json's MANDATORY_NOT_FOUND details require `supported_values` (copied "
          "from its INVALID_DATA details); Zoho's MANDATORY_NOT_FOUND details are api_name and "
          "json_path (facts §2.4, fields.json MandatoryDetails)", ("territories:POST *",),
          "required", statuses=(400,), at="details", keys=_keys("supported_values"),
          codes=_keys("MANDATORY_NOT_FOUND")),
    Quirk("mass_update.json models the answer's `data` as an object; Zoho's own samples "
          "(mass-update docs, Kaizen #57) answer {\"data\": [ ... ]} (facts §5)",
          ("mass_update:POST *",), "type", at="data", keys=_keys("data")),
    # --- metadata: `required` lists every property of a schema
    Quirk("fields.json marks every property required, request-only ones too "
          "(`_update_existing_records`, `_delete`, the misspelt `file_upolad_optionlist`); "
          "Zoho's field-meta sample omits these keys, or shows them on some fields only "
          "(`textarea` on multi-line fields, `blueprint_supported` on picklists)",
          ("fields:GET *", "modules:GET *", "layouts:GET *"), "required", at="*fields/*",
          keys=_keys("_update_existing_records", "additional_column", "allowed_modules",
                     "autonumber", "available_in_user_layout", "blueprint_supported",
                     "category", "column_name", "common.picklist", "file_upolad_optionlist",
                     "number_separator", "refer_from_field", "sharing_properties", "show_type",
                     "static_field", "sub_module", "textarea", "static_values", "_delete")),
    Quirk("type-specific objects are {} on fields of other types in Zoho's field-meta sample "
          "(multiselectlookup, auto_number, formula, rollup_summary); fields.json gives "
          "`multiuserlookup` the multi-select lookup schema with all its keys required",
          ("fields:GET *", "modules:GET *", "layouts:GET *"), "required",
          at="*/multiuserlookup"),
    Quirk("the list of modules carries the keys of Zoho's modules-api list sample, which has no "
          "`fields` or `display_field`; modules.json shares one schema with the one-module answer",
          ("modules:GET /crm/v8/settings/modules",), "required", at="modules/*",
          keys=_keys("fields", "display_field")),
    Quirk("modules.json marks every property required; Zoho's modules-api sample omits these "
          "keys", ("modules:GET *",), "required", at="modules/*",
          keys=_keys("$field_states", "$on_demand_properties", "$properties", "activity_badge",
                     "business_card_fields", "chart_view", "chart_view_supported",
                     "common.search_supported", "custom_view", "default_mapping_fields",
                     "emailTemplate_support", "email_parser_supported",
                     "filter_status", "filter_supported",
                     "inventory_template_supported", "isBlueprintSupported", "kanban_view",
                     "kanban_view_supported", "layout_associations", "layouts",
                     "lookup_field_properties", "per_page", "related_list_properties",
                     "related_lists", "scoring_supported", "search_layout_fields",
                     "track_current_data", "triggers_supported", "webform_supported",
                     "zia_view")),
    Quirk("layouts.json marks every property required, the request-only `_delete` too; Zoho's "
          "layouts-meta sample has no `mode` or `subform_properties` on a layout",
          ("layouts:GET *",), "required", at="layouts/*",
          keys=_keys("mode", "subform_properties", "_delete")),
    Quirk("convert_mapping names the layouts a convertible module converts into (Leads: "
          "Contacts, Deals, Accounts in Zoho's sample; Quotes and Sales Orders: SalesOrders, "
          "Invoices); layouts.json requires all five on every layout",
          ("layouts:GET *",), "required", at="layouts/*/convert_mapping"),
    Quirk("the list of custom views carries the 14 keys of Zoho's custom-view-meta list sample; "
          "custom_views.json shares one schema with the single view, whose keys it requires",
          ("custom_views:GET /crm/v8/settings/custom_views",), "required", at="custom_views/*",
          keys=_keys("access_type", "criteria", "fields", "module", "offline", "shared_to",
                     "sort_by", "sort_order")),
    # --- null where Zoho's samples have null
    Quirk("Zoho's documented samples send null for these (field-meta: crypt, tooltip, external, "
          "hipaa_compliance, history_tracking, association_details, associated_module, "
          "customizable_properties; layouts-meta: default_value, created_by, created_for, "
          "modified_by, section properties; modules-api and custom-view-meta: modified_by, "
          "created_by; v7 blueprint: private); the OAS types them without `nullable` (3.0 cannot "
          "mark a $ref nullable)", ("fields:GET *", "modules:GET *", "layouts:GET *",
                                     "custom_views:GET *"), "type", null=True,
          keys=_keys("crypt", "tooltip", "external", "hipaa_compliance", "history_tracking",
                     "association_details", "associated_module", "customizable_properties",
                     "default_value", "private", "created_by", "created_for", "modified_by",
                     "properties")),
    Quirk("a view without a filter or a sort order has neither; custom_views.json refs Criteria "
          "and sort_by without `nullable` (OAS 3.0 cannot mark a $ref nullable)",
          ("custom_views:GET /crm/v8/settings/custom_views/{id}",), "type", null=True,
          keys=_keys("criteria", "sort_by")),
    # --- users.json
    Quirk("users.json turns its sample's date_format into an enum of one value; orgs choose "
          "their format", ("users:*",), "enum", at="users/*/date_format"),
    Quirk("users.json turns its sample's address into a pattern (nine letters @ five letters "
          ".com)", ("users:*",), "pattern", at="users/*/email"),
    Quirk("users.json types time_zone as an object; its own docs sample has the string "
          "\"Asia/Kolkata\"", ("users:*",), "type", at="users/*/time_zone"),
    Quirk("users.json turns its sample's number separator into an enum of one value "
          "(\"Space\"); Zoho's get-users answers carry \"Comma\" (the users' locale "
          "decides). Reproduce: GET /crm/v8/users", ("users:GET *",), "enum",
          at="users/*/number_separator"),
    Quirk("Zoho's get-users sample sends `$current_shift` and `$next_shift` null for users "
          "without shifts; users.json refs `shift` without `nullable` (OAS 3.0 cannot mark a "
          "$ref nullable)", ("users:GET *",), "type", at="users/*", null=True,
          keys=_keys("$current_shift", "$next_shift")),
    Quirk("users.json types the user count as a string; the official v8 SDK's "
          "users.CountWrapper.set_count refuses anything but an int, so Corral answers "
          "{\"count\": 1} as the SDK parses it", ("users:GET /crm/v8/users/actions/count",),
          "type", at="count"),
    Quirk("Zoho's get-roles sample sends `forecast_manager` and `description` null; the top "
          "role reports to no one and the roles created with the org (CEO, Manager) have no "
          "creator or modifier, as the system profiles of the get-profiles sample have null "
          "created/modified times; roles.json refs these objects without `nullable`",
          ("roles:*",), "type", at="roles/*", null=True,
          keys=_keys("forecast_manager", "description", "reporting_to", "created_by__s",
                     "modified_by__s")),
    Quirk("Zoho's get-profiles sample sends `created_time` and `modified_time` null for the "
          "system profiles created with the org (which therefore have no creator or "
          "modifier either), and `description` is \"the description of the profile, if "
          "any\"; profiles.json types them without `nullable`", ("profiles:*",), "type",
          at="profiles/*", null=True,
          keys=_keys("created_time", "modified_time", "created_by", "modified_by",
                     "description")),
    Quirk("Zoho's get-profiles page: `permissions_details` \"is rendered in the response only "
          "when you fetch a specific profile\" (the `sections` grouping them likewise); "
          "profiles.json requires both in the list too",
          ("profiles:GET /crm/v8/settings/profiles",), "required", at="profiles/*",
          keys=_keys("permissions_details", "sections")),
    Quirk("related_records.json documents only 200 for every operation; Zoho answers 204 for "
          "an empty list and the request-level 4xx errors of every records API (facts §2.1, "
          "§2.2, §2.5)", ("related_records:*",), "status"),
    Quirk(URL_ID.format("related_lists.json (its 400 is INVALID_MODULE {param})"),
          ("related_lists:GET /crm/v8/settings/related_lists/{id}",), "required",
          statuses=(400,), at="details", codes=_keys("INVALID_DATA"),
          details=_keys("resource_path_index")),
    Quirk("a batch whose every item fails answers 400 with the per-item errors in `data`, as "
          "every Zoho batch API does (facts §2.2); attachments.json's 400 lists only "
          "top-level errors. Reproduce: DELETE /crm/v8/Leads/{id}/Attachments?ids=0",
          ("attachments:DELETE /crm/v8/{module}/{record_id}/Attachments",), "required",
          statuses=(400,), at="", keys=_keys("code", "details", "message", "status")),
    Quirk("before multi-currency is enabled the currencies API answers 403 "
          "CURRENCIES_NOT_ENABLED (reads) / FEATURE_NOT_ENABLED (writes), a request-level "
          "refusal like NO_PERMISSION (facts §2.5); currencies.json documents no 4xx status "
          "for reads and no 403 at all", ("currencies:*",), "status", statuses=(403,),
          codes=_keys("CURRENCIES_NOT_ENABLED", "FEATURE_NOT_ENABLED")),
    Quirk("users.json's `owner` schema requires first_name and last_name; the Modified_By of "
          "Zoho's get-users sample has name and id only", ("users:GET *",), "required",
          at="users/*/Modified_By", keys=_keys("first_name", "last_name")),
    # A batch answers one result per input in input order (facts §2.2, "one bad record never
    # aborts the other 99"): where some tags of a create/update fail, their error entries sit
    # beside the successes. tags.json's 200/201 schemas list success entries only.
    Quirk("per-tag errors in a partly failed batch (facts §2.2); tags.json's success schema "
          "lists success entries only. Reproduce: POST /crm/v8/settings/tags?module=Leads "
          "{\"tags\":[{\"name\":\"a\"},{}]}", ("tags:POST *", "tags:PUT *"), "enum",
          statuses=(200, 201), at="tags/*", keys=_keys("code", "message", "status")),
    Quirk("per-tag errors in a partly failed batch (see above): an error's details are not "
          "a created tag's", ("tags:POST *", "tags:PUT *"), "required", statuses=(200, 201),
          at="tags/*/details", keys=_keys("created_time", "modified_time", "modified_by",
                                          "id", "created_by", "color_code", "name")),
    Quirk("users.json shares one wrapper (requiring the paging `info`) between the list and one "
          "user; Zoho's get-users sample is of the list, and one user has no pages",
          ("users:GET /crm/v8/users/{user}",), "required", statuses=(200,), at="",
          keys=_keys("info")),
)


@dataclass(frozen=True)
class HandedOver:
    """A 5xx in code owned by other work: who owns it and how to reproduce it."""

    owner: str
    reproduction: str
    operations: tuple[str, ...]
    hit: Callable[[dict[str, Any]], bool]  # over the request that was sent (method, url, body)


HANDED_OVER_5XX: tuple[HandedOver, ...] = ()

ISSUE_10 = ("issue 10 (drop-in for real Zoho clients, open): these operations were merged on "
            "2026-12-01 from parallel branches (related lists and records, Notes, tags, "
            "attachments, users/roles/profiles/currencies) and their answers have not been "
            "reviewed against the OAS yet; the "
            "fuzzer still fails on any 5xx, non-JSON body or leak. Next step: fix or justify "
            "each violation (e.g. related_lists answers null connectedmodule/linkingmodule/"
            "fields/sort_by where related_lists.json wants a string/array/object), then "
            "remove this entry. Reproduce: pytest tests/contract -k related_lists")

HANDED_OVER_SHAPES: tuple[Quirk, ...] = (
    Quirk("issue 17's bad-input rule (owned by the lead): a NUL in a JSON key or string is "
          "refused while the body is parsed, before the operation runs, so the answer is the "
          "request-level top-level INVALID_DATA {json_path} and not the operation's wrapped "
          "body error. Reproduce: POST /crm/v8/settings/duplicate_check_preference?module=Leads "
          "with a key \"\\u0000\". Decide whether such bodies should be wrapped per operation",
          ("duplicate_check_preference:*", "convert_lead:*", "roles:PUT *", "roles:POST *",
           "profiles:POST *", "profiles:PUT *"), "required", statuses=(400,),
          codes=_keys("INVALID_DATA"), details=_keys("json_path")),
    Quirk("territories, owned by the lead (api/actions.py create_territories) and the "
          "storage helper (metadata/territories.py): an invalid value in one territory comes "
          "back top-level; v8 "
          "territories.json wraps such errors as {\"territories\": [error]} "
          "(InvalidValueErrorWrapper), as item 3 does for fields. Reproduce: POST "
          "/crm/v8/settings/territories {\"territories\":[{\"name\":\"X\","
          "\"reporting_to\":{\"id\":\"1\"}}]} -> 400 {\"code\":\"INVALID_DATA\",...}",
          ("territories:POST *",), "required", statuses=(400,), codes=_keys("INVALID_DATA"),
          keys=_keys("expected_data_type", "territories")),
)
