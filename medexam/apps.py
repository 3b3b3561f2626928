from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# Django appends this suffix to every form label, and its own Chinese catalogue
# keeps the ASCII colon. The project's catalogue, which takes precedence,
# translates it to the full-width colon that Chinese text uses.
# Translators: the suffix after a form field's label.
FORM_LABEL_SUFFIX = gettext_noop(":")


class MedexamConfig(AppConfig):
    name = "medexam"
    verbose_name = _("Question bank and evaluation")
