"""``manage.py rollup --quarter 2026Q4 [--reason "..."] [--publish]``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from satisfaction.errors import ApplicationError
from satisfaction.quarters import InvalidQuarterError, Quarter
from scoring.services import quarter_publish, rollup_quarter


class Command(BaseCommand):
    help = "Compute a quarter's store and employee satisfaction values (a provisional revision)."

    def add_arguments(self, parser):
        parser.add_argument("--quarter", default="",
                            help="Quarter like 2026Q4 (default: the running quarter).")
        parser.add_argument("--reason", default="",
                            help="Required to recompute a published (locked) quarter.")
        parser.add_argument("--publish", action="store_true",
                            help="Publish (lock) the quarter after computing it.")

    def handle(self, *args, **options):
        try:
            quarter = Quarter.parse(options["quarter"]) if options["quarter"] else (
                Quarter.current())
        except InvalidQuarterError as exc:
            raise CommandError(str(exc)) from exc
        try:
            outcome = rollup_quarter(quarter=quarter, reason=options["reason"])
            self.stdout.write(
                f"{quarter} revision {outcome.rollup.revision} ({outcome.rollup.status}): "
                f"{outcome.stores} stores, {outcome.employees} employees in "
                f"{outcome.seconds:.2f}s ("
                + ", ".join(f"{k} {v:.2f}s" for k, v in outcome.stages.items()) + ")")
            if options["publish"]:
                rollup = quarter_publish(quarter=quarter, user=None)
                self.stdout.write(f"{quarter} revision {rollup.revision} published")
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
