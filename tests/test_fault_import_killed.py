"""SIGKILL the import in the middle of a 100k-row file, rerun it: every row is accounted for
exactly once, no duplicate leads, and the invariants hold (heavy)."""

import csv
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from leads.models import Lead, Source
from tests.processes import cluster_env

pytestmark = pytest.mark.heavy

ROWS = 100_000
DUPLICATES = 3_000
BAD = 2_000


def write_file(path) -> int:
    """GB18030, Chinese headers; DUPLICATES rows repeat earlier phones in another format; BAD rows have no contact."""
    distinct = ROWS - DUPLICATES - BAD
    with open(path, "w", newline="", encoding="gb18030") as fh:
        writer = csv.writer(fh)
        writer.writerow(["姓名", "手机", "邮箱", "公司", "地区"])
        for i in range(distinct):
            writer.writerow([f"客户{i}", f"139{i:08d}", "", "恒通科技", "上海"])
        for i in range(DUPLICATES):
            writer.writerow([f"客户{i}", f"+86 139-{i // 10000:04d}-{i % 10000:04d}", "", "", ""])
        for i in range(BAD):
            writer.writerow([f"无联系方式{i}", "12345", "not-an-email", "", ""])
    return distinct


def run_import(path, env, kill_when=None):
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "import_leads", str(path), "--source", "bulk"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    if kill_when is not None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if kill_when():
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.2)
    out, _ = proc.communicate(timeout=900)
    return proc.returncode, out


@pytest.mark.django_db(transaction=True)
def test_killed_import_rerun_accounts_for_every_row_once(tmp_path):
    Source.objects.create(code="bulk", name="Bulk", channel="import", heat="warm")
    path = tmp_path / "big.csv"
    distinct = write_file(path)
    if connection.vendor != "postgresql":
        pytest.skip("needs a database a second process can open (PostgreSQL pass)")
    env = cluster_env("imp")

    code, _ = run_import(path, env, kill_when=lambda: Lead.objects.count() >= 20_000)
    assert code == -signal.SIGKILL, "the import should have been killed mid-file"
    partial = Lead.objects.count()
    assert 0 < partial < distinct

    code, out = run_import(path, env)
    assert code == 0, out
    last = out.strip().splitlines()[-1]
    counts = dict(part.split("=") for part in last.split())
    assert int(counts["imported"]) + int(counts["merged"]) + int(counts["rejected"]) == ROWS
    assert int(counts["rejected"]) == BAD
    assert Lead.objects.count() == distinct
    assert Lead.objects.values("phone_normalized").distinct().count() == distinct
    check = subprocess.run(
        [sys.executable, "manage.py", "check_invariants"], env=env, capture_output=True, text=True
    )
    assert check.stdout.strip().endswith("invariants: 0 violations"), check.stdout[-2000:]
