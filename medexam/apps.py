from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MedexamConfig(AppConfig):
    name = "medexam"
    verbose_name = _("Question bank and evaluation")
