from django.core.management.base import BaseCommand

from lifecycle.schedules import schedules_ensure


class Command(BaseCommand):
    help = "Create the django-q2 schedules (sweep, heartbeat) if missing; safe to run any number of times."

    def handle(self, *args, **options):
        for line in schedules_ensure():
            self.stdout.write(line)
