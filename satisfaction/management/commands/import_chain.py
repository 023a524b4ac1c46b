from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from satisfaction.errors import ApplicationError
from satisfaction.services import chain_import


class Command(BaseCommand):
    help = "Import stores and employees from a CSV or XLSX file (all rows or none)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            result = chain_import(file_name=file.name, content=file.read_bytes())
        except ApplicationError as exc:
            for row in exc.fields.get("rows", []):
                self.stderr.write(row)
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(result.summary()))
