"""`corral serve | worker | import | export | token | field | module | client | grant | user`
— calls services only."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from corral.auth.scopes import ScopeError
from corral.config import DEFAULT_MAX_BODY, Settings
from corral.errors import CorralError
from corral.services import Corral
from corral.serving import default_workers, run_workers, tune_gc, uvicorn_options

db_option = click.option("--database-url", envvar="CORRAL_DATABASE_URL", default=None,
                         help="SQLAlchemy URL (default sqlite:///./corral.db).")


def _open(database_url: str | None) -> Corral:
    corral = Corral.open(Settings.from_env(database_url=database_url))
    token = corral.seed()
    if token:  # this command seeded the database: the first-start token must not be lost
        click.echo(f"Admin access token (all scopes, 30 days): {token}", err=True)
    return corral


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _corral_error(err: CorralError) -> NoReturn:
    _fail(f"{err.code}: {err.message} {err.details or ''}".strip())


@click.group()
def main() -> None:
    """Corral: a self-hosted CRM records server speaking Zoho CRM's REST API."""


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, default=False,
              help="Do not run the background worker (jobs, webhooks) in this process.")
@click.option("--public-url", envvar="CORRAL_PUBLIC_URL", default=None,
              help="Base URL clients reach Corral at, reported as the token endpoint's "
                   "api_domain (default: the request's scheme and Host).")
@click.option("--max-body", type=click.IntRange(min=1), envvar="CORRAL_MAX_BODY", default=None,
              metavar="BYTES", help=f"Largest request body accepted; larger ones get 413 "
              f"FILE_TOO_LARGE unread (default {DEFAULT_MAX_BODY}).")
@click.option("--emulator", is_flag=True, default=None,
              help="Emulator mode: serve the /__corral/ control API (reset, snapshots, clock, "
                   "journal, limits, faults). Also CORRAL_EMULATOR=1.")
@click.option("--seed", type=int, default=None, metavar="N",
              help="Emulator mode: record ids and tokens repeat from run to run (a pure "
                   "function of N and the order of calls, from a fresh database or a reset).")
@click.option("--fixtures", "fixtures_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Emulator mode: a YAML or JSON fixture file (modules, fields, "
              "users, custom views, records) loaded at the first start, before the baseline.")
@click.option("--workers", type=click.IntRange(min=1), envvar="CORRAL_WORKERS", default=None,
              metavar="N", help="Server processes sharing the port and the database (default: "
              "the number of CPU cores; 1 in emulator mode, where ids and tokens repeat under "
              "--seed only with one process). Also CORRAL_WORKERS.")
def serve(database_url: str | None, host: str, port: int, no_worker: bool,
          max_body: int | None, public_url: str | None, emulator: bool | None,
          seed: int | None, fixtures_file: str | None, workers: int | None) -> None:
    """Migrate, seed on first start, and serve HTTP."""
    settings = Settings.from_env(database_url=database_url, host=host, port=port,
                                 run_worker=not no_worker, max_body=max_body,
                                 public_url=public_url, emulator=emulator, seed=seed)
    emu = None
    if (settings.seed is not None or fixtures_file) and not settings.emulator:
        _fail("--seed and --fixtures need --emulator")
    if workers is None:
        workers = 1 if settings.emulator else default_workers()
    if settings.emulator:
        from pathlib import Path

        from corral.emulator.service import Emulator, EmulatorOptions

        fixtures = Path(fixtures_file).read_bytes() if fixtures_file else None
        try:
            emu = Emulator.open(settings, EmulatorOptions(seed=settings.seed), fixtures)
        except CorralError as err:
            _corral_error(err)
        corral, token = emu.corral, emu.first_token
    else:
        corral = Corral.open(settings)
        token = corral.seed()
    if token:
        click.echo(f"Admin access token (all scopes, 30 days): {token}", err=False)
    processes = f" with {workers} worker processes" if workers > 1 else ""
    click.echo(f"Corral serving {settings.database_url} on http://{host}:{port}{processes}",
               err=True)
    sys.stdout.flush()
    _run_server(corral, emu, workers)


def _run_server(corral: Corral, emu: Any, workers: int) -> None:
    if workers > 1:
        # Migrated and seeded once, here; each child opens its own engines.
        corral.close()
        run_workers(corral.settings, workers)
        return
    import uvicorn

    from corral.app import create_app

    tune_gc()
    uvicorn.run(create_app(corral, emu), **uvicorn_options(corral.settings))


@main.command()
@db_option
@click.option("--poll", default=0.5, show_default=True, type=float,
              help="Seconds between looks for work when idle.")
def worker(database_url: str | None, poll: float) -> None:
    """Run a background job worker on the database (any number may run at once)."""
    import signal

    corral = _open(database_url)
    w = corral.worker()
    w.poll_seconds = poll
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    tune_gc()
    click.echo(f"Corral worker on {corral.settings.database_url}", err=True)
    try:
        w.run_forever()
    except KeyboardInterrupt:
        pass


def _emulator(database_url: str | None) -> Any:
    from corral.emulator.service import Emulator

    return Emulator(_open(database_url))


@main.command()
@db_option
@click.option("--snapshot", default=None, help="Restore this snapshot instead of the baseline.")
def reset(database_url: str | None, snapshot: str | None) -> None:
    """Put the database back as the emulator first started on it (or a named snapshot)."""
    emu = _emulator(database_url)
    if snapshot is None and not emu.has_baseline():
        _fail("no baseline yet: `corral serve --emulator` takes it on its first start")
    try:
        emu.reset(snapshot)
    except CorralError as err:
        _corral_error(err)
    click.echo("reset to " + (f"snapshot {snapshot}" if snapshot else "the baseline"))


@main.group()
def snapshot() -> None:
    """Database snapshots (what the emulator's /__corral/snapshots serves)."""


@snapshot.command("save")
@db_option
@click.argument("name")
def snapshot_save(database_url: str | None, name: str) -> None:
    """Save the whole database as NAME (replacing a snapshot of that name)."""
    try:
        info = _emulator(database_url).save_snapshot(name)
    except CorralError as err:
        _corral_error(err)
    click.echo(f"{info.name}: {info.records} records")


@snapshot.command("restore")
@db_option
@click.argument("name")
def snapshot_restore(database_url: str | None, name: str) -> None:
    """Put the database back exactly as snapshot NAME."""
    try:
        _emulator(database_url).restore(name)
    except CorralError as err:
        _corral_error(err)
    click.echo(f"restored {name}")


@snapshot.command("list")
@db_option
def snapshot_list(database_url: str | None) -> None:
    """Print `name<TAB>created time<TAB>records` per snapshot."""
    for info in _emulator(database_url).list_snapshots():
        click.echo(f"{info.name}\t{info.created_time.isoformat()}\t{info.records}")


@snapshot.command("delete")
@db_option
@click.argument("name")
def snapshot_delete(database_url: str | None, name: str) -> None:
    """Delete snapshot NAME."""
    try:
        _emulator(database_url).delete_snapshot(name)
    except CorralError as err:
        _corral_error(err)
    click.echo(f"deleted {name}")


@main.group()
def metadata() -> None:
    """Metadata of a real Zoho org."""


@metadata.command("import")
@db_option
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def metadata_import(database_url: str | None, directory: str) -> None:
    """Add a real org's custom modules and fields from saved API responses in DIRECTORY:
    modules.json (GET /settings/modules) and fields_<Module>.json (GET
    /settings/fields?module=<Module>)."""
    from pathlib import Path

    from corral.emulator.fixtures import FixtureLoader, import_metadata

    corral = _open(database_url)
    try:
        loaded = FixtureLoader(corral, skip_existing_fields=True).load(
            import_metadata(Path(directory)))
    except CorralError as err:
        _corral_error(err)
    click.echo(f"{loaded.counts['modules']} modules, {loaded.counts['fields']} fields")


@main.group()
def view() -> None:
    """Custom views."""


@view.command("add")
@db_option
@click.argument("module")
@click.option("--name", required=True)
@click.option("--criteria", default=None, help="Search-style criteria, e.g. "
              "'(Lead_Status:equals:Contacted)'.")
@click.option("--private", is_flag=True, default=False, help="Visible to its owner only.")
@click.option("--user", "user_email", default=None, help="Owner (default: the admin).")
def view_add(database_url: str | None, module: str, name: str, criteria: str | None,
             private: bool, user_email: str | None) -> None:
    """Add a custom view; prints its id."""
    from corral.auth.service import Principal

    corral = _open(database_url)
    try:
        user = corral.auth.user_by_email(user_email)
        principal = corral.auth.principal_for_user(user.id)
        assert isinstance(principal, Principal)
        spec = {"name": name, "criteria": criteria,
                "access_type": "only_to_me" if private else "public"}
        click.echo(str(corral.views.create(corral.registry.require(module), spec, principal)))
    except CorralError as err:
        _corral_error(err)
    except LookupError as exc:
        _fail(str(exc))


@main.group()
def workflow() -> None:
    """Workflow rules."""


@workflow.command("add")
@db_option
@click.argument("module")
@click.option("--name", required=True)
@click.option("--when", default="create_or_edit", show_default=True,
              type=click.Choice(["create", "edit", "create_or_edit", "field_update", "delete"]))
@click.option("--field", "watched", default=None, help="Watched field (--when field_update).")
@click.option("--criteria", default=None, help="e.g. '(Lead_Source:equals:Web Download)'.")
@click.option("--field-update", "field_updates", multiple=True, metavar="FIELD=VALUE")
@click.option("--webhook", "webhooks", multiple=True, metavar="URL")
@click.option("--webhook-fields", default=None, help="Comma-separated fields sent (default all).")
@click.option("--task", "tasks", multiple=True, metavar="SUBJECT")
@click.option("--task-due-days", default=None, type=int)
def workflow_add(database_url: str | None, module: str, name: str, when: str,
                 watched: str | None, criteria: str | None, field_updates: tuple[str, ...],
                 webhooks: tuple[str, ...], webhook_fields: str | None, tasks: tuple[str, ...],
                 task_due_days: int | None) -> None:
    """Add a workflow rule to MODULE; prints its id."""
    corral = _open(database_url)
    admin = corral.auth.principal_for_user(corral.auth.user_by_email(None).id)
    assert admin is not None
    actions: list[dict[str, Any]] = []
    for item in field_updates:
        field_name, sep, value = item.partition("=")
        if not sep:
            _fail(f"--field-update takes FIELD=VALUE, not {item!r}")
        actions.append({"type": "field_update", "field": field_name, "value": value})
    fields = webhook_fields.split(",") if webhook_fields else []
    actions += [{"type": "webhook", "url": url, "fields": fields} for url in webhooks]
    actions += [{"type": "create_task", "subject": s, "due_in_days": task_due_days}
                for s in tasks]
    spec = {"name": name, "when": when, "field": watched, "criteria": criteria,
            "actions": actions}
    try:
        click.echo(str(corral.automation.create_rule(corral.registry.require(module),
                                                     "workflow", spec, admin, "$")))
    except CorralError as err:
        _corral_error(err)


@main.group()
def territory() -> None:
    """Territories."""


@territory.command("add")
@db_option
@click.argument("name")
@click.option("--parent", default=None, help="Parent territory id.")
@click.option("--description", default=None)
def territory_add(database_url: str | None, name: str, parent: str | None,
                  description: str | None) -> None:
    """Add a territory; prints its id."""
    corral = _open(database_url)
    admin = corral.auth.principal_for_user(corral.auth.user_by_email(None).id)
    assert admin is not None
    spec: dict[str, Any] = {"name": name, "description": description}
    if parent:
        spec["reporting_to"] = {"id": parent}
    try:
        click.echo(str(corral.territories.create(spec, admin)))
    except CorralError as err:
        _corral_error(err)


@territory.command("assign")
@db_option
@click.argument("territory_id")
@click.argument("module")
@click.argument("record_ids", nargs=-1, required=True)
def territory_assign(database_url: str | None, territory_id: str, module: str,
                     record_ids: tuple[str, ...]) -> None:
    """Assign records of MODULE to a territory."""
    corral = _open(database_url)
    admin = corral.auth.principal_for_user(corral.auth.user_by_email(None).id)
    assert admin is not None
    results = corral.territories.assign(
        corral.registry.require(module),
        [{"id": r, "Territories": [{"id": territory_id}]} for r in record_ids], admin)
    failed = [rid for rid, err in results if err is not None]
    if failed:
        _fail(f"not assigned: {', '.join(failed)}")


@main.command()
@db_option
@click.argument("job_or_request_id")
@click.option("--force", is_flag=True, default=False,
              help="Also revert records changed after the reverted write.")
@click.option("--dry-run", is_flag=True, default=False,
              help="Print what the revert would do, record by record; write nothing.")
def revert(database_url: str | None, job_or_request_id: str, force: bool,
           dry_run: bool) -> None:
    """Revert a job (mass update, bulk write, merge, revert) or one API call's writes."""
    from corral.records.revert import NOTHING, Target
    from corral.records.writes import WriteContext

    corral = _open(database_url)
    admin = corral.auth.principal_for_user(corral.auth.user_by_email(None).id)
    assert admin is not None
    targets = [Target(request_id=job_or_request_id)]
    if job_or_request_id.isdigit():
        targets.insert(0, Target(job_id=int(job_or_request_id)))
    for n, target in enumerate(targets):
        try:
            if dry_run:
                for r in corral.revert.preview(target, force, admin):
                    what = f"skip ({r.skipped})" if r.skipped else (
                        " then ".join(r.steps()) or "nothing to do")
                    click.echo(f"{r.record_id}\t{what}")
                return
            job_id = corral.revert.schedule(target, force, WriteContext(admin))
        except CorralError as err:
            if err.message == NOTHING and n + 1 < len(targets):
                continue  # not a job's id: try it as a request id
            _corral_error(err)
        else:
            break
    corral.jobs.run_until_idle()
    counts, skipped = corral.revert.status(job_id)
    click.echo(f"revert job {job_id}: " + ", ".join(f"{k}={val}" for k, val in counts.items()))
    for item in skipped:
        click.echo(f"skipped {item['id']}: {item['reason']}")


@main.group()
def token() -> None:
    """Access tokens."""


@token.command("create")
@db_option
@click.option("--scopes", required=True, help="Comma-separated Zoho scopes.")
@click.option("--user", "user_email", default=None, help="User email (default: the admin).")
@click.option("--expires-in", default=3600, show_default=True, type=int,
              help="Lifetime in seconds.")
def token_create(database_url: str | None, scopes: str, user_email: str | None,
                 expires_in: int) -> None:
    """Print one new access token and nothing else."""
    corral = _open(database_url)
    try:
        user = corral.auth.user_by_email(user_email)
        click.echo(corral.auth.create_access_token(user.id, scopes, expires_in=expires_in))
    except (LookupError, ScopeError) as exc:
        _fail(str(exc))


@main.group()
def field() -> None:
    """Field metadata."""


@field.command("add")
@db_option
@click.argument("module")
@click.option("--api-name", required=True)
@click.option("--label", required=True)
@click.option("--type", "data_type", required=True)
@click.option("--length", type=int, default=None)
@click.option("--unique", is_flag=True, default=False)
@click.option("--pick-list", default=None, help="Comma-separated values.")
@click.option("--lookup", default=None, help="Target module of a lookup field.")
def field_add(database_url: str | None, module: str, api_name: str, label: str,
              data_type: str, length: int | None, unique: bool, pick_list: str | None,
              lookup: str | None) -> None:
    """Add a custom field to MODULE."""
    corral = _open(database_url)
    try:
        mod = corral.registry.require(module)
        spec: dict[str, Any] = {"api_name": api_name, "label": label, "type": data_type,
                                "length": length, "lookup": lookup,
                                "pick_list": pick_list.split(",") if pick_list else None}
        created = corral.metadata.add_field(mod, spec)
        if unique:
            created = corral.metadata.set_unique(corral.registry.require(module), api_name, True)
        click.echo(str(created.id))
    except CorralError as err:
        _corral_error(err)


@field.command("set")
@db_option
@click.argument("module")
@click.argument("api_name")
@click.option("--unique/--no-unique", required=True)
def field_set(database_url: str | None, module: str, api_name: str, unique: bool) -> None:
    """Switch "Do not allow duplicate values" on or off."""
    corral = _open(database_url)
    try:
        updated = corral.metadata.set_unique(corral.registry.require(module), api_name, unique)
        click.echo(f"{module}.{api_name} unique={str(updated.unique).lower()}")
    except CorralError as err:
        _corral_error(err)


@main.group()
def module() -> None:
    """Modules."""


@module.command("add")
@db_option
@click.argument("api_name")
@click.option("--singular", required=True)
@click.option("--plural", required=True)
def module_add(database_url: str | None, api_name: str, singular: str, plural: str) -> None:
    """Add a custom module (with a Name field)."""
    corral = _open(database_url)
    try:
        click.echo(str(corral.metadata.add_module(api_name, singular, plural).id))
    except CorralError as err:
        _corral_error(err)


@main.group()
def client() -> None:
    """OAuth clients."""


@client.command("create")
@db_option
@click.option("--name", default="Corral client")
@click.option("--redirect-uri", default=None)
@click.option("--user", "user_email", default=None)
def client_create(database_url: str | None, name: str, redirect_uri: str | None,
                  user_email: str | None) -> None:
    """Print `client_id client_secret` of a new OAuth client."""
    corral = _open(database_url)
    client_id, secret = corral.auth.create_client(name, redirect_uri, user_email)
    click.echo(f"client_id={client_id}")
    click.echo(f"client_secret={secret}")


@main.group()
def grant() -> None:
    """OAuth grant codes."""


@grant.command("create")
@db_option
@click.option("--client-id", required=True)
@click.option("--scopes", required=True)
@click.option("--user", "user_email", default=None)
@click.option("--expires-in", default=600, show_default=True, type=int)
def grant_create(database_url: str | None, client_id: str, scopes: str,
                 user_email: str | None, expires_in: int) -> None:
    """Print a one-time grant code for the authorization_code flow."""
    corral = _open(database_url)
    try:
        click.echo(corral.auth.create_grant(client_id, scopes, user_email=user_email,
                                            expires_in=expires_in))
    except (LookupError, ScopeError) as exc:
        _fail(str(exc))


@main.group()
def user() -> None:
    """Users."""


@user.command("add")
@db_option
@click.option("--email", required=True)
@click.option("--last-name", required=True)
@click.option("--first-name", default=None)
@click.option("--profile", default="Standard", show_default=True)
@click.option("--role", default=None, help="Role name (default: Manager).")
@click.option("--time-zone", default="UTC", show_default=True)
@click.option("--unconfirmed", is_flag=True, default=False,
              help="Has not accepted the invitation (listed by type=NotConfirmedUsers).")
def user_add(database_url: str | None, email: str, last_name: str, first_name: str | None,
             profile: str, role: str | None, time_zone: str, unconfirmed: bool) -> None:
    """Add a user; prints its id."""
    corral = _open(database_url)
    try:
        created = corral.auth.create_user(email, last_name, first_name=first_name,
                                          profile=profile, role=role, time_zone=time_zone,
                                          confirmed=not unconfirmed)
        click.echo(str(created.id))
    except LookupError as exc:
        _fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    main()


# ----------------------------------------------------------------------------- import / export
class _Progress:
    """A live bar (rows done / total, rate, ETA, errors so far) when stdout is a terminal;
    nothing at all otherwise, so piped output carries no control characters."""

    def __init__(self, label: str, total: int, enabled: bool) -> None:
        self.bar: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("rows"), TextColumn("{task.fields[rate]} rows/s"),
                TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn(),
                TextColumn("errors: {task.fields[errors]}"),
                console=Console(file=sys.stdout), transient=False)
            self.task = self.bar.add_task(label, total=total, rate="-", errors=0)
            self.bar.start()

    def update(self, done: int, errors: int) -> None:
        if self.bar is not None:
            task = self.bar.tasks[0]
            speed = task.speed
            self.bar.update(self.task, completed=done, errors=errors,
                            rate=f"{speed:,.0f}" if speed else "-")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _run_job(corral: Corral, job_id: int, total: int, counts: Any, label: str,
             bad_states: tuple[str, ...], *, show: bool) -> dict[str, int]:
    """Run the job's chunks in this process (another worker may share them) with progress."""
    import time

    progress = _Progress(label, total, show)
    try:
        while True:
            worked = corral.jobs.run_once(only=job_id)
            c = counts(job_id)
            progress.update(total - c.get("pending", 0), sum(c.get(s, 0) for s in bad_states))
            if not c.get("pending", 0) and not worked:
                return dict(c)
            if not worked:
                time.sleep(0.2)
    finally:
        progress.close()


def _principal(corral: Corral, user_email: str | None) -> Any:
    user = corral.auth.user_by_email(user_email)
    principal = corral.auth.principal_for_user(user.id)
    if principal is None:
        _fail(f"no such user: {user_email}")
    return principal


@main.command("import")
@db_option
@click.argument("module")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--mode", type=click.Choice(["insert", "update", "upsert"]), default="insert",
              show_default=True)
@click.option("--find-by", default=None,
              help="update: id or a unique field; upsert: the field matched first.")
@click.option("--map", "maps", multiple=True, metavar="CSV_COLUMN=API_NAME",
              help="Read a column into a field of another name (repeatable).")
@click.option("--encoding", default="UTF-8", show_default=True)
@click.option("--dry-run", is_flag=True, default=False,
              help="Check every row and report what would happen; write nothing.")
@click.option("--result", "result_path", default=None, type=click.Path(dir_okay=False),
              help="Per-row outcomes CSV (default FILE.result.csv).")
@click.option("--user", "user_email", default=None, help="Importing user (default: admin).")
def import_(database_url: str | None, module: str, file: str, mode: str,
            find_by: str | None, maps: tuple[str, ...], encoding: str, dry_run: bool,
            result_path: str | None, user_email: str | None) -> None:
    """Import a CSV into MODULE as a Bulk Write job (shown by its status API, resumed by any
    worker after a crash); rows go through the full write path."""
    from pathlib import Path

    from corral.records.writes import WriteContext

    renames: dict[str, str] = {}
    for m in maps:
        column, sep, api_name = m.partition("=")
        if not sep or not column or not api_name:
            _fail(f"--map expects CSV_COLUMN=API_NAME, got {m!r}")
        renames[column] = api_name
    corral = _open(database_url)
    service = corral.bulk_write
    principal = _principal(corral, user_email)
    out = Path(result_path or f"{file}.result.csv")
    try:
        if mode == "update" and find_by is None:
            find_by = "id"
        with Path(file).open("rb") as stream:  # read as the rows are used, never whole
            plan = service.plan_import(module, stream, mode=mode, find_by=find_by,
                                       renames=renames, encoding=encoding)
            if dry_run:
                _dry_run_import(service.dry_run(plan, principal), plan.header, out)
                return
            job_id, total = service.schedule_import(
                plan, WriteContext(principal, request_id="cli-import"),
                {"file_name": Path(file).name, "source": "cli"})
        click.echo(f"Bulk write job {job_id}: {total} rows into {plan.module.api_name}",
                   err=True)
        c = _run_job(corral, job_id, total, service.counts, "import", ("failed",),
                     show=sys.stdout.isatty())
        with out.open("wb") as f:
            for chunk in service.result_chunks(service.job(job_id)):
                f.write(chunk)
    except CorralError as err:
        _corral_error(err)
    finally:
        corral.close()
    click.echo(f"imported {total} rows: added {c.get('added', 0)}, updated "
               f"{c.get('updated', 0)}, skipped {c.get('failed', 0)}. Result: {out}")


def _dry_run_import(pairs: Any, header: list[str], out: Any) -> None:
    """Write a dry run's per-row outcomes as they come; a file that turns out unreadable
    half-way leaves no result file."""
    import csv

    tally = {"ADDED": 0, "UPDATED": 0, "SKIPPED": 0}
    try:
        with out.open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow([*header, "RECORD_ID", "STATUS", "ERRORS"])
            for row, outcome in pairs:
                cells = _dry_outcome(outcome)
                tally[cells[1]] += 1
                w.writerow([*row, *cells])
    except CorralError:
        out.unlink(missing_ok=True)
        raise
    click.echo(f"dry run: {sum(tally.values())} rows: would add {tally['ADDED']}, update "
               f"{tally['UPDATED']}, skip {tally['SKIPPED']}; nothing written. Result: {out}")


def _dry_outcome(o: Any) -> list[str]:
    if isinstance(o, CorralError):
        name = o.details.get("api_name") if isinstance(o.details, dict) else None
        return ["", "SKIPPED", f"{o.code}-{name}" if name else o.code]
    rid = str(o.record_id) if o.record_id > 0 else ""  # a plan's new records have no id yet
    return [rid, "ADDED" if o.state == "added" else "UPDATED", ""]


@main.command("export")
@db_option
@click.argument("module")
@click.option("--criteria", default=None,
              help="Search-style criteria, e.g. '(Lead_Status:equals:Contacted)'.")
@click.option("--fields", default=None, help="Comma-separated api_names (default: all).")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="CSV file to write (default: standard output).")
@click.option("--user", "user_email", default=None, help="Exporting user (default: admin).")
def export(database_url: str | None, module: str, criteria: str | None, fields: str | None,
           output: str | None, user_email: str | None) -> None:
    """Export MODULE's records as CSV through a Bulk Read job."""
    from corral.records.writes import WriteContext

    corral = _open(database_url)
    service = corral.bulk_read
    principal = _principal(corral, user_email)
    try:
        mod, where, columns = service.plan_export(
            module, criteria, [f.strip() for f in fields.split(",")] if fields else None,
            principal)
        job = service.schedule(mod, where, columns, 1,
                               WriteContext(principal, request_id="cli-export"),
                               {"query": {"module": {"api_name": mod.api_name}},
                                "callback": None, "source": "cli"}, size=10**12)
        if output is not None:
            click.echo(f"Bulk read job {job.id}: {job.total} records of {mod.api_name}",
                       err=True)
        c = _run_job(corral, job.id, job.total, service.counts, "export", ("skipped",),
                     show=output is not None and sys.stdout.isatty())
        job = service.job(job.id)
        target = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115
        try:
            for chunk in service.result_chunks(job):
                target.write(chunk)
        finally:
            if output:
                target.close()
            else:
                target.flush()
    except CorralError as err:
        _corral_error(err)
    finally:
        corral.close()
    if output:
        click.echo(f"exported {c.get('exported', 0)} records to {output}")
