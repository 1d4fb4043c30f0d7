from django.core.management.base import BaseCommand, CommandError

from leads.selectors import invariants_violations


class Command(BaseCommand):
    help = "Prove the narrow waist held: every owned lead's owner matches its latest transition event."

    def handle(self, *args, **options):
        count = 0
        for violation in invariants_violations():
            count += 1
            self.stdout.write(violation)
        self.stdout.write(f"invariants: {count} violations")
        if count:
            raise CommandError(f"{count} invariant violation(s)", returncode=1)
