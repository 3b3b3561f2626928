"""Create a default validity rule set, so dataset versions can be made on a fresh install.

Three reviews per item, verdict agreement of at least 0.67 (two of three
reviewers), and a flag confirmed by half the reviewers: a wrong key, several
correct options or an outdated guideline go to adjudication, an ambiguous
question is excluded. Coordinators add stricter sets in the admin.
"""

from django.db import migrations

DEFAULT_NAME = "standard"


def create_default(apps, schema_editor):
    ValidityRuleSet = apps.get_model("medexam", "ValidityRuleSet")
    ValidityRuleSet.objects.get_or_create(
        name=DEFAULT_NAME,
        defaults={
            "min_reviews": 3,
            "min_item_agreement": 0.67,
            "min_flag_share": 0.5,
            "flag_actions": {
                "wrong_key": "adjudicate",
                "ambiguous": "exclude",
                "multiple_correct": "adjudicate",
                "outdated": "adjudicate",
                "wrong_specialty": "ignore",
            },
        },
    )


def remove_default(apps, schema_editor):
    apps.get_model("medexam", "ValidityRuleSet").objects.filter(name=DEFAULT_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("medexam", "0006_validity_rule_min_flag_share")]
    operations = [migrations.RunPython(create_default, remove_default)]
