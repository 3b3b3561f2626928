import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from medexam.celery import app as celery_app
from medexam.models import ImportJob, Question
from tests.api_personas import plain_static_storage  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plain_static_storage")]


@pytest.fixture
def admin_client_https(make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    client.force_login(make_user("admin", is_superuser=True, is_staff=True))
    return client


@pytest.fixture
def eager_tasks():
    # Run the queued import in this process, inside the test's transaction.
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def upload(client, content, name="bank.csv", **fields):
    data = {"file": SimpleUploadedFile(name, content), "file_format": "", **fields}
    return client.post("/admin/medexam/importjob/upload/", data)


def test_upload_page_renders(admin_client_https):
    page = admin_client_https.get("/admin/medexam/importjob/upload/")
    assert page.status_code == 200


@pytest.mark.usefixtures("eager_tasks")
def test_upload_imports_csv(admin_client_https, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reply = upload(admin_client_https, "题干,A,B,答案\n心衰首选,利尿剂,手术,A\n".encode())
    assert reply.status_code == 302
    assert ImportJob.objects.get().status == ImportJob.Status.SUCCEEDED
    assert Question.objects.get().source == "bank"


@pytest.mark.usefixtures("eager_tasks")
def test_upload_rejected_row_stores_nothing(admin_client_https, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client_https, "题干,A,B,答案\n心衰首选,利尿剂,手术,F\n".encode())
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    assert job.errors[0]["field"] == "answer"
    assert Question.objects.count() == 0


def test_job_list_links_upload(admin_client_https):
    page = admin_client_https.get("/admin/medexam/importjob/")
    assert "/admin/medexam/importjob/upload/" in page.content.decode()


@pytest.mark.usefixtures("eager_tasks")
def test_job_page_reason_chinese(admin_client_https, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client_https, "题干,A,B,答案\n心衰首选,利尿剂,手术,F\n".encode())
    job = ImportJob.objects.get()
    page = admin_client_https.get(f"/admin/medexam/importjob/{job.pk}/change/").content.decode()
    assert "第 2 行，标准答案：答案 F 含有题目没有的选项 F（现有选项 AB）" in page
    assert "1 行被拒绝，未存储任何题目。" in page


@pytest.mark.usefixtures("eager_tasks")
def test_job_page_reason_english(admin_client_https, django_capture_on_commit_callbacks):
    # The import runs in the upload request here, so it uses the language the curator chose.
    admin_client_https.cookies["django_language"] = "en"
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client_https, "题干,A,B,答案\n心衰首选,利尿剂,手术,F\n".encode())
    job = ImportJob.objects.get()
    page = admin_client_https.get(f"/admin/medexam/importjob/{job.pk}/change/").content.decode()
    assert "line 2, answer key: answer F names option(s) F that the question does not offer" in page
