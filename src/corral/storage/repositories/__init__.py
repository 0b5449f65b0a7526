"""Repositories: the only code that builds SQL. One module per aggregate (records, keys, change
log, jobs, outbox, metadata, auth ...). Methods take the transaction (`Tx`) first, speak in
domain values (frozen dataclasses or builtins, never SQLAlchemy rows) and are named for what they
mean (`holders_of_keys`, `claim_pending_items`), not for the statement they run."""
