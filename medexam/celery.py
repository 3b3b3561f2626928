"""The Celery application shared by the web process, workers and beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medexam.settings")

app = Celery("medexam")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"])
# Import jobs run in the background from medexam.tasks.
app.autodiscover_tasks(["medexam"])
