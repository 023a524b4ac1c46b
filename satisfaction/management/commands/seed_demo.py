import importlib
import logging
from datetime import date

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone, translation

from complaints import demo as complaints_demo
from dashboard import demo as dashboard_demo
from internal_service import demo as internal_service_demo
from mystery_shopper import demo as mystery_shopper_demo
from pos import demo as pos_demo
from pulse import demo as pulse_demo
from satisfaction.demo import DEMO_LOGINS, DemoChain, build_chain, customer_links
from satisfaction.models import Store, User
from scoring import demo as scoring_demo
from scoring.models import StoreScore
from scoring.selectors import rollup_for_display
from surveys import demo as surveys_demo

# Each app's ``seed(*, chain)`` hook, in order: scoring rolls up what the inputs made, and the
# dashboard's improvement actions take their baselines from the rolled-up values.
DEMO_HOOKS = (("surveys", surveys_demo.seed), ("mystery_shopper", mystery_shopper_demo.seed),
              ("complaints", complaints_demo.seed),
              ("internal_service", internal_service_demo.seed), ("pos", pos_demo.seed),
              ("scoring", scoring_demo.seed), ("dashboard", dashboard_demo.seed),
              ("pulse", lambda *, chain: pulse_demo.seed(chain=chain,
                                                         customer_values=_customer_values)))


def _customer_values(quarter):
    """Each store's customer value in ``quarter`` (its shown revision), for the pulse demo to
    lean on: the wiring reads scoring, which the pulse app may never import."""
    rollup = rollup_for_display(quarter=quarter)
    return {} if rollup is None else dict(
        StoreScore.objects.filter(rollup=rollup).values_list("store_id", "value"))

# The rows every new database has, made by data migrations; a flush removes them and
# migrations do not run twice, so --reset runs these forward functions again. (Migration
# modules start with a digit: they can only be loaded by name.)
DATA_MIGRATION_DEFAULTS = (
    ("surveys.migrations.0002_default_indicators", "create"),
    ("mystery_shopper.migrations.0002_default_scorecard", "create_defaults"),
    ("complaints.migrations.0002_default_policy", "create_defaults"),
    ("scoring.migrations.0002_default_scheme", "create_default_scheme"),
    ("satisfaction.migrations.0010_default_departments", "create_defaults"),
)


def seed_demo(*, seed: int, password: str, today: date) -> tuple[DemoChain, list[str]]:
    """Build the demo chain and let each app add its data, in one transaction."""
    with transaction.atomic():
        chain = build_chain(seed=seed, password=password, today=today)
        summary = (f"chain: {len(chain.regions)} regions, {len(chain.stores)} stores, "
                   f"{len(chain.employees)} employees")
        lines = [summary]
        lines += [f"{app}: {hook(chain=chain)}" for app, hook in DEMO_HOOKS]
    return chain, lines


def restore_data_migration_defaults() -> None:
    for module_name, function_name in DATA_MIGRATION_DEFAULTS:
        getattr(importlib.import_module(module_name), function_name)(apps, None)


class Command(BaseCommand):
    help = ("Build the demo chain (3 regions, 30 stores, ~200 employees) with each app's demo "
            "data and the demo logins. Does nothing if the database already has stores, unless "
            "--reset is given.")

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--password", default=settings.DEMO_PASSWORD_DEFAULT)
        parser.add_argument("--reset", action="store_true",
                            help="Delete every row first (flush) and seed again.")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000",
                            help="Where the server will listen, for the customer links printed.")

    def handle(self, *args, seed: int, password: str, reset: bool, base_url: str,
               **options):
        if reset:
            call_command("flush", interactive=False, verbosity=0)
            restore_data_migration_defaults()
        if Store.objects.exists():
            self.stdout.write("The database already has a chain; demo data left as it is "
                              "(use --reset to rebuild it).")
            for username, _ in DEMO_LOGINS:
                user = User.objects.filter(username=username).first()
                if user is not None:
                    user.set_password(password)
                    user.save(update_fields=["password"])
        else:
            # Demo alerts (red lines, overdue complaints) stay in memory, not on the console,
            # and so do the rollups' and tasks' progress lines: the summary below says it all.
            logging.disable(logging.INFO)
            try:
                with override_settings(
                        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
                    _, lines = seed_demo(seed=seed, password=password,
                                         today=timezone.localdate())
            finally:
                logging.disable(logging.NOTSET)
            for line in lines:
                self.stdout.write(f"  {line}")
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password: {password}):"))
        width = max(len(username) for username, _what in DEMO_LOGINS)
        for username, what in DEMO_LOGINS:
            self.stdout.write(f"  {username:<{width}} {what}")
        self.stdout.write(self.style.SUCCESS("Customer pages (no login):"))
        base = base_url.rstrip("/")
        with translation.override("en"):  # the console speaks English, like the lines above
            for link in customer_links():
                where = f"{link.store_code} " if link.store_code else ""
                self.stdout.write(f"  {where}{link.label}: {base}{link.path}")
