"""``manage.py survey_tallies_rebuild [--quarter 2026Q4] [--check]``."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from satisfaction.quarters import InvalidQuarterError, Quarter
from surveys.models import Campaign
from surveys.selectors import tally_differences
from surveys.services import survey_tallies_rebuild


class Command(BaseCommand):
    help = ("Recompute the survey tallies and response scores from the answers (after a bulk "
            "load or a repair); with --check, only report where the kept tallies differ.")

    def add_arguments(self, parser):
        parser.add_argument("--quarter", default="", help="Only this quarter's campaigns.")
        parser.add_argument("--check", action="store_true",
                            help="Compare the kept tallies with the answers; change nothing.")

    def handle(self, *args, **options):
        campaigns = Campaign.objects.order_by("pk")
        if options["quarter"]:
            try:
                campaigns = campaigns.filter(quarter=Quarter.parse(options["quarter"]))
            except InvalidQuarterError as exc:
                raise CommandError(str(exc)) from exc
        campaigns = list(campaigns)
        if options["check"]:
            differences = tally_differences(campaigns=campaigns)
            for row in differences[:20]:
                self.stdout.write(f"differs: {row}")
            if differences:
                raise CommandError(f"{len(differences)} tallies differ from the answers")
            self.stdout.write(f"{len(campaigns)} campaign(s): the tallies equal the answers")
            return
        started = time.perf_counter()
        count = survey_tallies_rebuild(campaigns=campaigns)
        self.stdout.write(f"{count} campaign(s) tallied and scored in "
                          f"{time.perf_counter() - started:.2f}s")
