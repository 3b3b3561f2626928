"""Trigram GIN index for the admin's and the API's substring search of stems (PostgreSQL only).

Django's icontains compiles to UPPER(stem::text) LIKE UPPER('%...%'); an index
on UPPER(stem) with gin_trgm_ops serves it, which matters because Chinese
search terms always match inside words. Creating the pg_trgm extension needs
the CREATE privilege on the database; without it the index is skipped and
search still works, by a sequential scan.
"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

INDEX = "medexam_question_stem_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {INDEX} ON medexam_question "
                "USING gin (UPPER(stem) gin_trgm_ops)"
            )
    except DatabaseError as exc:
        logger.warning("trigram index on question stems not created: %s", exc)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("medexam", "0004_import_job_report_fields")]
    operations = [migrations.RunPython(create_index, drop_index)]
