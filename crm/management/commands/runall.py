"""Start the web server and the django-q2 cluster(s) together; one Ctrl-C stops them all."""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server and django-q2 qcluster(s) in the foreground together."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("BIND", "127.0.0.1:8000"))
        parser.add_argument("--prod", action="store_true", help="gunicorn instead of runserver")
        parser.add_argument("--workers", type=int, default=1, help="number of qcluster processes")

    def handle(self, *args, addr, prod, workers, **options):
        manage = [sys.executable, "manage.py"]
        if prod:
            web = [sys.executable, "-m", "gunicorn", "crm.wsgi:application", "--bind", addr, "--workers", "2"]
        else:
            web = [*manage, "runserver", addr, "--noreload"]
        commands = [web] + [[*manage, "qcluster"] for _ in range(workers)]
        procs = [subprocess.Popen(cmd) for cmd in commands]
        self.stdout.write(
            f"web on http://{addr}/ (admin: /admin/, workspace: /leads/), {workers} qcluster(s). Ctrl-C stops all."
        )
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(p.poll() is None for p in procs):
                time.sleep(0.5)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for p in procs:
                try:
                    p.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
