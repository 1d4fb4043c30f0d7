import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from crm.cli import whole_number
from crm.demo import demo_organisation_create, demo_rows, organisation_exists


class Command(BaseCommand):
    help = "Create the demo organisation (once) and N leads through the bulk intake path."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=whole_number(0), default=2000)
        parser.add_argument("--reps", type=whole_number(0), default=12)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--source", default="import")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing if the demo organisation exists"
        )

    def handle(self, *args, leads, reps, seed, source, if_empty, **options):
        if if_empty and organisation_exists():
            self.stdout.write(
                "demo data present; nothing to do (run `manage.py demo --leads N` to add leads)"
            )
            return
        result = demo_organisation_create(reps=reps, seed=seed)
        if result.created:
            self.stdout.write(self.style.SUCCESS("demo organisation created. Logins (passwords shown once):"))
            for role, username, password in result.logins:
                self.stdout.write(f"  {role:<28} {username:<10} {password}")
        else:
            self.stdout.write(
                "demo organisation already present (logins unchanged; use `manage.py changepassword`)"
            )
        if leads > 0:
            from leads.models import Source
            from lifecycle.intake import intake_bulk

            started = time.monotonic()
            report = intake_bulk(
                demo_rows(leads, seed=seed + int(timezone.now().timestamp()) if not result.created else seed),
                source=Source.objects.get(code=source),
                now=timezone.now(),
                progress=True,
            )
            elapsed = time.monotonic() - started
            self.stdout.write(
                f"leads: imported={report.imported} merged={report.merged} rejected={report.rejected} "
                f"in {elapsed:.1f}s ({report.total / max(elapsed, 1e-9):,.0f} rows/s)"
            )
