"""The ``sanke`` command as a person runs it."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from alembic.script import ScriptDirectory

from tests.conftest import free_port
from tests.web.processes import ROOT, run_sanke, sanke_env, sanke_server


def test_a_wrong_setting_exits_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    env = sanke_env(SANKE_PORT="eighty", SANKE_DATA_DIR=str(tmp_path))
    result = run_sanke("serve", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "sanke: SANKE_PORT: expected a port number from 1 to 65535, got 'eighty' "
        "(Input should be a valid integer, unable to parse string as an integer)"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_an_unreachable_database_exits_with_a_clear_message(tmp_path: Path) -> None:
    url = f"postgresql://sanke:secret@127.0.0.1:{free_port()}/sanke"
    env = sanke_env(
        SANKE_DATABASE_URL=url, SANKE_DATA_DIR=str(tmp_path), SANKE_PORT=str(free_port())
    )
    result = run_sanke("serve", env=env)
    assert result.returncode == 3
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("sanke: cannot reach the database postgresql+psycopg://sanke:***@")
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_db_upgrade_then_user_create(tmp_path: Path) -> None:
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path))
    upgraded = run_sanke("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    heads = ScriptDirectory(str(ROOT / "web" / "migrations")).get_heads()
    assert upgraded.stdout.strip() == f"database at revision {heads[0]}"
    created = run_sanke(
        "user", "create", "city.admin", "--name", "云岭市电教馆", "--role", "admin",
        "--region", "349900", "--password-stdin", env=env, stdin="strong-pass-1\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created city.admin (admin, region:349900)"
    weak = run_sanke(
        "user", "create", "insp1", "--name", "T", "--role", "inspector", "--region", "349900",
        "--password-stdin", env=env, stdin="123\n",
    )  # fmt: skip
    assert weak.returncode == 2 and weak.stderr.startswith("sanke: password: at least 8")
    no_school = run_sanke(
        "user", "create", "teacher2", "--name", "T", "--role", "teacher", "--school", "cs-none",
        "--password-stdin", env=env, stdin="strong-pass-1\n",
    )  # fmt: skip
    assert no_school.returncode == 2 and "no school 'cs-none'" in no_school.stderr


def test_bench_lists_the_benchmarks(tmp_path: Path) -> None:
    result = run_sanke("bench", env=sanke_env(SANKE_DATA_DIR=str(tmp_path)))
    assert result.returncode == 0
    assert "live_state" in json.loads(result.stdout)["benchmarks"]


def test_serve_migrates_and_answers_with_the_login_page(tmp_path: Path) -> None:
    port = free_port()
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path), SANKE_PORT=str(port))
    with sanke_server("serve", env=env, port=port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login") as page:
            assert page.status == 200 and "登录" in page.read().decode()
    assert (tmp_path / "sanke.db").exists() and (tmp_path / "secrets.json").exists()


def test_a_busy_port_is_reported_before_anything_starts(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_sanke(
            "serve", env=sanke_env(SANKE_DATA_DIR=str(tmp_path), SANKE_PORT=str(port))
        )
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_a_data_dir_that_is_not_a_directory_is_reported(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    env = sanke_env(SANKE_DATA_DIR=str(not_a_dir), SANKE_PORT=str(free_port()))
    result = run_sanke("db", "upgrade", env=env)
    assert result.returncode == 3
    assert result.stderr.startswith("sanke: SANKE_DATA_DIR: expected a writable directory")
    assert "Traceback" not in result.stderr


def test_a_database_from_a_newer_sanke_is_refused_clearly(tmp_path: Path) -> None:
    import sqlite3

    env = sanke_env(SANKE_DATA_DIR=str(tmp_path))
    assert run_sanke("db", "upgrade", env=env).returncode == 0
    with sqlite3.connect(tmp_path / "sanke.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    result = run_sanke("db", "upgrade", env=env)
    assert result.returncode == 3 and "newer than this version" in result.stderr
    assert "Traceback" not in result.stderr


def test_schedule_solve_writes_the_plan_and_prints_one_json_line(tmp_path: Path) -> None:
    from scheduler.export import write_input
    from web.demo import county

    write_input(county(), tmp_path / "in")
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path))
    (tmp_path / "in" / "calendar.csv").write_text("date,kind\n2026-10-01,holiday\n")
    result = run_sanke(
        "schedule", "solve", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
        "--time-limit", "5", "--term-start", "2026-09-01", "--term-end", "2027-01-15", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary) == {
        "status", "demand", "scheduled", "unmet", "objective", "bound", "seconds", "lessons"
    }  # fmt: skip
    # coverage quality is the solver tests' business; here: the figures agree
    assert summary["demand"] > 100 and summary["scheduled"] > 0
    assert summary["scheduled"] + summary["unmet"] == summary["demand"]
    lines = (tmp_path / "out" / "timetable.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == (
        "lesson_id,day,period,teacher_id,output_classroom_id,subject,grade,class_ids"
    )
    assert len(lines) == summary["lessons"] + 1
    assert (tmp_path / "out" / "timetable.xlsx").stat().st_size > 0
    ical = tmp_path / "out" / "ical"
    teaching = {line.split(",")[3] for line in lines[1:]}
    assert {f"teacher-{t}.ics" for t in teaching} <= {p.name for p in ical.iterdir()}
    hekou = (ical / "classroom-tp-hekou-r1.ics").read_text(encoding="utf-8")
    assert "BEGIN:VEVENT" in hekou and ":20261001T" not in hekou  # 国庆 is a holiday


def test_schedule_solve_lists_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    from scheduler.export import write_input
    from web.demo import county

    write_input(county(), tmp_path / "in")
    with (tmp_path / "in" / "busy.csv").open("a", encoding="utf-8") as handle:
        handle.write("ghost,1,1\ntp-hekou-g1,9,1\n")
    result = run_sanke(
        "schedule", "solve", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
        env=sanke_env(SANKE_DATA_DIR=str(tmp_path)),
    )  # fmt: skip
    assert result.returncode == 2
    errors = result.stderr.strip().splitlines()
    assert errors[-1] == "sanke: 2 problems in the input; nothing was imported"
    assert "[owner_id] 未知的班级或教师“ghost”" in errors[0]
    assert "[day] 应在 1–5 之间，实际为 9" in errors[1]
    assert not (tmp_path / "out").exists()


def test_schedule_repair_prints_the_changes(tmp_path: Path) -> None:
    from scheduler.export import write_input
    from web.demo import county

    write_input(county(), tmp_path / "in")
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path))
    solved = run_sanke(
        "schedule", "solve", str(tmp_path / "in"), "--out", str(tmp_path / "plan"),
        "--time-limit", "3", env=env,
    )  # fmt: skip
    assert solved.returncode == 0, solved.stderr
    result = run_sanke(
        "schedule", "repair", str(tmp_path / "in"), "--plan", str(tmp_path / "plan" /
        "timetable.csv"), "--absent", "cs-qingxi-shiyan-t1", "--out", str(tmp_path / "fixed"),
        "--time-limit", "4", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    *changes, last = result.stdout.strip().splitlines()
    summary = json.loads(last)
    assert summary["removed"] >= 1 and len(changes) == summary["removed"] + summary["added"]
    assert all(line[0] in "+-" for line in changes)
    assert not any("cs-qingxi-shiyan-t1" in line for line in changes if line[0] == "+")
    fixed = (tmp_path / "fixed" / "timetable.csv").read_text(encoding="utf-8-sig")
    assert "cs-qingxi-shiyan-t1" not in fixed
    unknown = run_sanke(
        "schedule", "repair", str(tmp_path / "in"), "--plan", str(tmp_path / "plan" /
        "timetable.csv"), "--absent", "nobody", "--out", str(tmp_path / "x"), env=env,
    )  # fmt: skip
    assert unknown.returncode == 2 and "no teacher nobody" in unknown.stderr


def test_retention_lists_then_applies_and_a_bad_policy_is_refused(tmp_path: Path) -> None:
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path))
    listed = run_sanke("retention", env=env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"due": [], "deleted": []}
    applied = run_sanke("retention", "--apply", env=env)
    assert applied.returncode == 0 and json.loads(applied.stdout)["deleted"] == []
    bad = run_sanke(
        "retention",
        env=sanke_env(SANKE_DATA_DIR=str(tmp_path), SANKE_RETENTION='{"days": {"delivery": 3}}'),
    )
    assert bad.returncode != 0 and "min_days" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr


def test_indicators_recompute_a_period_and_refuse_bad_dates(tmp_path: Path) -> None:
    env = sanke_env(SANKE_DATA_DIR=str(tmp_path))
    done = run_sanke("indicators", "--from", "2026-09-01", "--to", "2026-09-30", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["from"], result["to"], result["lessons"]) == ("2026-09-01", "2026-09-30", 0)
    backwards = run_sanke("indicators", "--from", "2026-09-30", "--to", "2026-09-01", env=env)
    assert backwards.returncode == 2 and "--to is before --from" in backwards.stderr
    garbled = run_sanke("indicators", "--from", "9/1", "--to", "2026-09-01", env=env)
    assert garbled.returncode == 2 and "dates like" in garbled.stderr
