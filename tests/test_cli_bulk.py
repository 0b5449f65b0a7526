"""`corral import` / `corral export`: through click's runner on both databases, and as real
processes with stdout on a terminal (a live progress bar) and on a pipe (no control
characters)."""

from __future__ import annotations

import csv
import io
import os
import pty
import subprocess
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner

from corral.cli import main
from corral.records.writes import WriteContext
from corral.services import Corral
from corral.storage import tables as t
from tests.e2e.helpers import child_env, corral_cmd


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def cli(corral: Corral, *args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, [*args, "--database-url", corral.settings.database_url])
    return r.exit_code, r.output


def leads(corral: Corral) -> dict[str, dict[str, object]]:
    corral.registry.refresh()
    with corral.db.read() as tx:
        rows = tx.execute(sa.select(t.records.c.data).where(
            t.records.c.module_id == corral.registry.require("Leads").id,
            t.records.c.deleted_time.is_(None))).all()
    return {str(r.data.get("Email")).lower(): r.data for r in rows}


def counts(corral: Corral) -> tuple[int, int, int]:
    with corral.db.read() as tx:
        return tuple(tx.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                     for table in (t.records, t.jobs, t.change_log))  # type: ignore[return-value]


def test_import_insert_then_upsert_runs_as_bulk_write_jobs(corral: Corral,
                                                           tmp_path: Path) -> None:
    src = write_csv(tmp_path / "leads.csv", [["Name", "Email", "Company"],
                                             ["Ames", "ames@x.com", "Zylker"],
                                             ["Bell", "not-an-email", "Zylker"]])
    code, out = cli(corral, "import", "Leads", str(src), "--map", "Name=Last_Name")
    assert code == 0, out
    assert "added 1, updated 0, skipped 1" in out
    assert "\x1b" not in out and "\r" not in out
    result = read_csv(tmp_path / "leads.csv.result.csv")
    assert [(r["Name"], r["STATUS"], r["ERRORS"]) for r in result] == [
        ("Ames", "ADDED", ""), ("Bell", "SKIPPED", "INVALID_DATA-Email")]
    with corral.db.read() as tx:
        (job,) = tx.execute(sa.select(t.jobs)).all()
        logged = tx.execute(sa.select(t.change_log.c.record_id).where(
            t.change_log.c.job_id == job.id)).all()
    # the job is a Bulk Write job like any other: its status API shows it
    details = corral.bulk_write.details(corral.bulk_write.job(job.id))
    assert details["status"] == "COMPLETED"
    assert details["resource"][0]["file"]["added_count"] == 1
    assert {str(r[0]) for r in logged} == {result[0]["RECORD_ID"]}

    up = write_csv(tmp_path / "up.csv", [["Last_Name", "Email"], ["Ames 2", "AMES@x.com"],
                                         ["Cole", "cole@x.com"]])
    code, out = cli(corral, "import", "Leads", str(up), "--mode", "upsert",
                    "--find-by", "Email", "--result", str(tmp_path / "r.csv"))
    assert code == 0, out
    assert [r["STATUS"] for r in read_csv(tmp_path / "r.csv")] == ["UPDATED", "ADDED"]
    got = leads(corral)
    assert got["ames@x.com"]["Last_Name"] == "Ames 2" and "cole@x.com" in got


def test_import_errors_and_dry_run_write_nothing(corral: Corral, tmp_path: Path) -> None:
    before = counts(corral)
    src = write_csv(tmp_path / "x.csv", [["Name", "Email"], ["A", "a@x.com"]])
    code, out = cli(corral, "import", "Leads", str(src))
    assert code == 1 and "unknown column" in out and "Name" in out
    code, out = cli(corral, "import", "Nope", str(src), "--map", "Name=Last_Name")
    assert code == 1 and "MODULE_NOT_AVAILABLE" in out
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Last_Name\nM\xfcller\n".encode("latin-1"))
    code, out = cli(corral, "import", "Leads", str(latin))
    assert code == 1 and "not valid UTF-8" in out
    code, out = cli(corral, "import", "Leads", str(latin), "--encoding", "latin-1",
                    "--dry-run")
    assert code == 0 and "would add 1" in out and "nothing written" in out
    assert read_csv(tmp_path / "latin.csv.result.csv")[0]["Last_Name"] == "Müller"
    assert counts(corral) == before


def test_export_with_criteria_and_fields(corral: Corral, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "l.csv", [["Last_Name", "Email", "Lead_Status"],
                                         ["A", "a@x.com", "Contacted"],
                                         ["B", "b@x.com", "Junk Lead"],
                                         ["C", "c@x.com", "Contacted"]])
    assert cli(corral, "import", "Leads", str(src))[0] == 0
    out_file = tmp_path / "out.csv"
    code, out = cli(corral, "export", "Leads", "--criteria", "(Lead_Status:equals:Contacted)",
                    "--fields", "Last_Name,Email", "-o", str(out_file))
    assert code == 0, out
    assert [(r["Last_Name"], r["Email"]) for r in read_csv(out_file)] == [
        ("A", "a@x.com"), ("C", "c@x.com")]
    assert set(read_csv(out_file)[0]) == {"Id", "Last_Name", "Email"}
    code, out = cli(corral, "export", "Leads", "--fields", "Email")
    assert code == 0
    assert out.splitlines()[0] == "Id,Email" and len(out.splitlines()) == 4
    code, out = cli(corral, "export", "Leads", "--criteria", "(Nope:equals:x)")
    assert code == 1 and "INVALID_CRITERIA" in out


# ----------------------------------------------------------------------------- real processes
def _import_args(db: str, src: Path) -> list[str]:
    return corral_cmd("import", "Leads", str(src), "--database-url", db)


def _rows(n: int) -> list[list[str]]:
    return [["Last_Name", "Email"], *[[f"L{i}", f"l{i}@x.com"] for i in range(n)]]


def test_real_process_quiet_on_a_pipe(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    src = write_csv(tmp_path / "l.csv", _rows(1200))
    r = subprocess.run(_import_args(db, src), env=child_env(), capture_output=True,
                       timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    assert b"\x1b" not in r.stdout and b"\r" not in r.stdout
    assert r.stdout.decode().strip().splitlines()[-1].startswith(
        "imported 1200 rows: added 1200")


def test_real_process_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    src = write_csv(tmp_path / "l.csv", _rows(1200))
    master, slave = pty.openpty()
    env = {**child_env(), "TERM": "xterm-256color", "COLUMNS": "160"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(_import_args(db, src), env=env, stdout=slave,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=300) == 0
    out = b"".join(chunks).decode(errors="replace")
    assert "\x1b[" in out  # a live display
    assert "1200/1200" in out and "rows/s" in out and "errors: 0" in out
    assert "imported 1200 rows: added 1200" in out


def test_import_reads_the_file_as_it_schedules_it(corral: Corral, tmp_path: Path) -> None:
    # The plan has read only the header; the rows are read while the job's items are stored.
    src = write_csv(tmp_path / "big.csv", _rows(12_000))
    with src.open("rb") as stream:
        plan = corral.bulk_write.plan_import("Leads", stream, mode="insert", find_by=None,
                                             renames={})
        assert plan.header == ["Last_Name", "Email"]
        assert stream.tell() < src.stat().st_size // 10
        principal = corral.auth.principal_for_user(corral.auth.user_by_email(None).id)
        job_id, total = corral.bulk_write.schedule_import(
            plan, WriteContext(principal, request_id="t"), {}, batch=5000)
    assert total == 12_000
    with corral.db.read() as tx:
        seqs = tx.execute(sa.select(t.job_items.c.seq, t.job_items.c.data).where(
            t.job_items.c.job_id == job_id).order_by(t.job_items.c.seq)).all()
    assert [s.seq for s in seqs] == list(range(12_000))
    assert seqs[-1].data == ["L11999", "l11999@x.com"]


def test_a_bad_byte_late_in_the_file_writes_nothing(corral: Corral, tmp_path: Path) -> None:
    before = counts(corral)
    src = tmp_path / "late.csv"
    src.write_bytes(b"Last_Name\n" + b"".join(b"L%d\n" % i for i in range(8000))
                    + "M\xfcller\n".encode("latin-1"))
    code, out = cli(corral, "import", "Leads", str(src))
    assert code == 1 and "not valid UTF-8" in out and f"byte {src.stat().st_size - 6}" in out
    code, out = cli(corral, "import", "Leads", str(src), "--dry-run")
    assert code == 1 and "not valid UTF-8" in out
    assert not (tmp_path / "late.csv.result.csv").exists()
    assert counts(corral) == before
    with corral.db.read() as tx:
        assert tx.execute(sa.select(sa.func.count()).select_from(t.job_items)).scalar_one() == 0
