from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from lifecycle.tasks import sweep


class Command(BaseCommand):
    help = "Run the life-cycle sweep once, now or at a given instant (time travel for tests and demos)."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="ISO 8601 instant, e.g. 2026-01-01T09:00:00+08:00 (default: now)")

    def handle(self, *args, **options):
        now = timezone.now()
        if options["at"]:
            try:
                now = datetime.fromisoformat(options["at"])
            except ValueError as exc:
                raise CommandError(f"--at: {exc}") from exc
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        counts = sweep(now=now)
        self.stdout.write(f"sweep at {now.isoformat()}")
        width = max(len(name) for name in counts) if counts else 0
        for name, count in counts.items():
            self.stdout.write(f"  {name.ljust(width)}  {count}")
        self.stdout.write(f"  {'total'.ljust(width)}  {sum(counts.values())}")
