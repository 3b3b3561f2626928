"""Rows the data migrations add, seeded again after a transactional test.

A test marked `django_db(transaction=True)` empties every table when it ends.
That includes the specialties, levels, role groups and the standard validity
rule set that migrations 0002, 0003 and 0007 seed. Tests that run after one
and need those rows call seed_migration_rows first.
"""

from __future__ import annotations

import importlib

from django.apps import apps as django_apps


def seed_migration_rows() -> None:
    migrations = "medexam.migrations."
    importlib.import_module(migrations + "0002_seed_specialties_levels").seed(django_apps, None)
    importlib.import_module(migrations + "0003_create_role_groups").create_groups(
        django_apps, None
    )
    importlib.import_module(migrations + "0007_default_validity_rule_set").create_default(
        django_apps, None
    )
