"""One exception class per Zoho wire code; each knows its HTTP status and default message.

Request-level failures are raised; per-record failures are built from the same classes and
kept as values (see records.service), so a bad record never aborts the rest of a batch.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CorralError(Exception):
    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal Server Error"
    skips_item: ClassVar[bool] = False  # a job item with this error is skipped, not failed

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None,
                 *, status: int | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.details = details if details is not None else {}
        self.http_status = status if status is not None else self.status
        # Some Zoho APIs wrap an error object under a key (e.g. "duplicate_check_preference").
        self.wrap: str | None = None
        super().__init__(self.message)


class InternalError(CorralError):
    pass


class AuthenticationFailure(CorralError):
    code = "AUTHENTICATION_FAILURE"
    status = 401
    default_message = "Authentication failed"


class InvalidToken(CorralError):
    code = "INVALID_TOKEN"
    status = 401
    default_message = "invalid oauth token"


class OAuthScopeMismatch(CorralError):
    code = "OAUTH_SCOPE_MISMATCH"
    status = 401
    default_message = "Unauthorized"


class NoPermission(CorralError):
    code = "NO_PERMISSION"
    status = 403
    default_message = "permission denied"


class InvalidUrlPattern(CorralError):
    code = "INVALID_URL_PATTERN"
    status = 404
    default_message = "Please check if the URL trying to access is a correct one"


class InvalidRequestMethod(CorralError):
    code = "INVALID_REQUEST_METHOD"
    status = 400
    default_message = "The http request method type is not a valid one"


class InvalidModule(CorralError):
    code = "INVALID_MODULE"
    status = 400
    default_message = "the module name given seems to be invalid"


class InvalidData(CorralError):
    code = "INVALID_DATA"
    status = 400
    default_message = "invalid data"


class MandatoryNotFound(CorralError):
    code = "MANDATORY_NOT_FOUND"
    status = 400
    default_message = "required field not found"


class DuplicateData(CorralError):
    code = "DUPLICATE_DATA"
    status = 400
    default_message = "duplicate data"


class MultipleOrMultiErrors(CorralError):
    code = "MULTIPLE_OR_MULTI_ERRORS"
    status = 400
    default_message = "Multiple errors in the request"

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None,
                 *, errors: list[CorralError] | None = None) -> None:
        super().__init__(message, details)
        # The record's several errors; envelopes renders them under details.errors.
        self.errors = list(errors or [])


class RequiredParamMissing(CorralError):
    code = "REQUIRED_PARAM_MISSING"
    status = 400
    default_message = "One of the expected parameter is missing"


class ExpectedParamMissing(CorralError):
    code = "EXPECTED_PARAM_MISSING"
    status = 400
    default_message = "mandatory param missing"


class InvalidQuery(CorralError):
    code = "INVALID_QUERY"
    status = 400
    default_message = "invalid query formed"


class QuerySyntaxError(CorralError):
    code = "SYNTAX_ERROR"
    status = 400
    default_message = "error occurred while parsing the query"


class InvalidAlias(CorralError):
    code = "INVALID_ALIAS"
    status = 400
    default_message = "invalid alias"


class DuplicateAlias(CorralError):
    code = "DUPLICATE_ALIAS"
    status = 400
    default_message = "duplicate alias"


class NotSupported(CorralError):
    code = "NOT_SUPPORTED"
    status = 400
    default_message = "not supported"


class LimitExceeded(CorralError):
    code = "LIMIT_EXCEEDED"
    status = 400
    default_message = "limit exceeded"


class LimitReached(CorralError):
    code = "LIMIT_REACHED"
    status = 400
    default_message = "Maximum response iteration limit reached"


class DiscretePaginationLimitExceeded(CorralError):
    code = "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
    status = 400
    default_message = "You can only get the first 2000 records without using page_token param"


class TokenBoundDataMismatch(CorralError):
    code = "TOKEN_BOUND_DATA_MISMATCH"
    status = 400
    default_message = ("The page_token given seems to be invalid or input param is added or "
                       "altered or deleted")


class ExpiredValue(CorralError):
    code = "EXPIRED_VALUE"
    status = 400
    default_message = "Page token expired"


class FileTooLarge(CorralError):
    """A request body over the server's size limit (`corral serve --max-body`).

    Zoho's status table lists 413 REQUEST ENTITY TOO LARGE; the one 413 error code Zoho
    documents (bulk write upload) is FILE_TOO_LARGE with this message, so Corral answers an
    oversized body of any endpoint with it.
    """

    code = "FILE_TOO_LARGE"
    status = 413
    default_message = "File size too large to process"


class UnableToParseDataType(CorralError):
    code = "UNABLE_TO_PARSE_DATA_TYPE"
    status = 400
    default_message = "either the request body or parameters is in wrong format"


class AmbiguityDuringProcessing(CorralError):
    code = "AMBIGUITY_DURING_PROCESSING"
    status = 400
    default_message = "ambiguity while processing the request"


class AlreadyModified(CorralError):
    code = "ALREADY_MODIFIED"
    status = 412
    default_message = "Record updated time has already passed if-unmodified-since time"


class ConvertedRecord(CorralError):
    code = "CONVERTED_RECORD"
    status = 400
    default_message = "can't update the converted record"


class NotAllowed(CorralError):
    code = "NOT_ALLOWED"
    status = 400
    default_message = "not allowed"


class DependentFieldMissing(CorralError):
    code = "DEPENDENT_FIELD_MISSING"
    status = 400
    default_message = "dependent field missing"


class AlreadyConfigured(CorralError):
    code = "ALREADY_CONFIGURED"
    status = 400
    default_message = "Already configured"


class ExpectedFieldMissing(CorralError):
    code = "EXPECTED_FIELD_MISSING"
    status = 400
    default_message = "expected field missing"


class FeatureNotSupported(CorralError):
    code = "FEATURE_NOT_SUPPORTED"
    status = 400
    default_message = "feature not supported"


class IdAlreadyConverted(CorralError):
    code = "ID_ALREADY_CONVERTED"
    status = 400
    default_message = "id already converted"


class AlreadyScheduled(CorralError):
    code = "ALREADY_SCHEDULED"
    status = 202
    default_message = "Already a Mass Action scheduler is running for the given cvid"


class NoRecordsFound(CorralError):
    code = "NO_RECORDS_FOUND"
    status = 400
    default_message = "no record found to update"


class NotFound(CorralError):
    code = "NOT_FOUND"
    status = 404
    default_message = "Empty response"


class RecordInBlueprint(CorralError):
    code = "RECORD_IN_BLUEPRINT"
    status = 400
    default_message = "The record is in blue print"


class RecordLocked(CorralError):
    code = "RECORD_LOCKED"
    status = 400
    default_message = "You cannot perform this operation as the record is locked."


def stored_error(err: CorralError) -> dict[str, Any]:
    """How an error is kept in the database (a job item's failure): code, message, details."""
    return {"code": err.code, "message": err.message, "details": err.details}


class FileSizeMoreThanAllowedSize(CorralError):
    code = "FILE_SIZE_MORE_THAN_ALLOWED_SIZE"
    status = 400
    default_message = "File size should not exceed 20 MB"


class DownloadNotAllowed(CorralError):
    code = "DOWNLOAD_NOT_ALLOWED"
    status = 400
    default_message = "link attachments cannot be downloaded"

# ----------------------------------------------------------------------------- users, currencies
class InvalidRequest(CorralError):
    code = "INVALID_REQUEST"
    status = 400
    default_message = "invalid request"


class IdAlreadyDeleted(CorralError):
    code = "ID_ALREADY_DELETED"
    status = 400
    default_message = "User is already deleted"


class IdAlreadyDeactivated(CorralError):
    code = "ID_ALREADY_DEACTIVATED"
    status = 400
    default_message = "User is already deactivated"


class IdAlreadyActive(CorralError):
    code = "ID_ALREADY_ACTIVE"
    status = 400
    default_message = "User is already active"


class CannotUpdateDeletedUser(CorralError):
    code = "CANNOT_UPDATE_DELETED_USER"
    status = 400
    default_message = "Deleted user cannot be updated"


class EmailUpdateNotAllowed(CorralError):
    code = "EMAIL_UPDATE_NOT_ALLOWED"
    status = 400
    default_message = "Cannot update email of a confirmed CRM User"


class AlreadyEnabled(CorralError):
    code = "ALREADY_ENABLED"
    status = 400
    default_message = "The multi-currency is already enabled"


class CurrenciesNotEnabled(CorralError):
    code = "CURRENCIES_NOT_ENABLED"
    status = 403
    default_message = "Multi currency is not enabled"


class FeatureNotEnabled(CorralError):
    code = "FEATURE_NOT_ENABLED"
    status = 403
    default_message = "The multi-currency feature is not enabled."


class ActiveStateLimitExceeded(CorralError):
    code = "ACTIVE_STATE_LIMIT_EXCEEDED"
    status = 400
    default_message = ("Allowed active currency limit 10 reached. Please deactivate any one of "
                       "the existing active currencies to create this currency")


# ----------------------------------------------------------------------------- bulk APIs
class InvalidFileFormat(CorralError):
    code = "INVALID_FILE_FORMAT"
    status = 400
    default_message = "invalid file format. only zip format is supported"


class FileNotSupported(CorralError):
    code = "FILE_NOT_SUPPORTED"
    status = 400
    default_message = "File not supported for bulk write"


class InvalidFileId(CorralError):
    code = "INVALID_FILE_ID"
    status = 400
    default_message = "improper file id"


class ResourceNotFound(CorralError):
    code = "RESOURCE_NOT_FOUND"
    status = 400
    default_message = "The requested resource doesn't exist."


class ModuleNotAvailable(CorralError):
    code = "MODULE_NOT_AVAILABLE"
    status = 400
    default_message = "Requested module is not available."


class MandatoryFieldsNotMapped(CorralError):
    code = "MANDATORY_FIELDS_NOT_MAPPED"
    status = 400
    default_message = "All mandatory fields are not mapped for the layout"


class InvalidCallbackMethod(CorralError):
    code = "INVALID_CALLBACK_METHOD"
    status = 400
    default_message = "invalid callback method"


class InvalidCallbackUrl(CorralError):
    code = "INVALID_CALLBACK_URL"
    status = 400
    default_message = "invalid callback url"


class InvalidCriteria(CorralError):
    code = "INVALID_CRITERIA"
    status = 400
    default_message = "invalid criteria"


class PageRangeExceeded(CorralError):
    code = "PAGE_RANGE_EXCEEDED"
    status = 400
    default_message = "page range exceeded"
class NotSubscribed(CorralError):
    code = "NOT_SUBSCRIBED"
    status = 400
    default_message = "the given channel is not subscribed"


class InvalidReference(CorralError):
    code = "INVALID_REFERENCE"
    status = 400
    default_message = "the reference given is invalid"


class RollbackPerformed(CorralError):
    code = "ROLLBACK_PERFORMED"
    status = 400
    default_message = "the sub-request was rolled back"


class ProcessingStopped(CorralError):
    code = "PROCESSING_STOPPED"
    status = 400
    default_message = "the sub-request was not processed"
# Corral extensions (issue 14): no Zoho API has them, so their codes follow Zoho's style.
class IdempotencyKeyReused(CorralError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = 422
    default_message = "the Idempotency-Key was already used for a different request"


class IdempotencyKeyInUse(CorralError):
    code = "IDEMPOTENCY_KEY_IN_USE"
    status = 409
    default_message = "a request with this Idempotency-Key is still being processed"


class PlanChanged(CorralError):
    code = "PLAN_CHANGED"
    status = 412
    default_message = "the request would no longer do what its dry run planned"
class RecordChanged(CorralError):
    """Corral's own: a revert leaves a record alone that changed after the reverted write (or
    that cannot be put back); the job counts it as skipped, with this message as the reason."""

    code = "RECORD_CHANGED"
    status = 409
    default_message = "the record changed after the reverted write"
    skips_item: ClassVar[bool] = True
class TooManyRequests(CorralError):
    """Over the API credit allowance or the concurrency limit (emulator mode's limits). The
    body text is Zoho's as reported by third parties (not in Zoho's docs)."""

    code = "TOO_MANY_REQUESTS"
    status = 429
    default_message = "too many requests. please try again after some time"
