import pytest
from django.core.cache import cache
from django.test import Client

from tests.api_personas import plain_static_storage  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("plain_static_storage")]


@pytest.fixture(autouse=True)
def _empty_cache(settings):
    settings.LOGIN_MAX_FAILURES = 5
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client_https():
    return Client(HTTP_X_FORWARDED_PROTO="https")


def log_in(client, password, username="dr-li", address="10.0.0.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_five_failures_lock_username(make_user, client_https):
    make_user("dr-li", password="right-horse-battery")
    codes = [log_in(client_https, "wrong").status_code for _ in range(5)]
    assert codes == [200] * 5
    assert log_in(client_https, "right-horse-battery").status_code == 429


def test_lock_message_shown(make_user, client_https):
    make_user("dr-li")
    for _ in range(5):
        log_in(client_https, "wrong")
    assert "15" in log_in(client_https, "wrong").content.decode()


def test_other_address_not_locked(make_user, client_https):
    make_user("dr-li", password="right-horse-battery")
    for _ in range(5):
        log_in(client_https, "wrong")
    assert log_in(client_https, "right-horse-battery", address="10.0.0.2").status_code == 302


def test_success_clears_failures(make_user, client_https):
    make_user("dr-li", password="right-horse-battery")
    for _ in range(4):
        log_in(client_https, "wrong")
    assert log_in(client_https, "right-horse-battery").status_code == 302
    client_https.logout()
    for _ in range(4):
        log_in(client_https, "wrong")
    assert log_in(client_https, "right-horse-battery").status_code == 302


def test_admin_login_also_locked(make_user, client_https):
    make_user("dr-li", password="right-horse-battery", is_staff=True)
    for _ in range(5):
        log_in(client_https, "wrong")
    client_https.post(
        "/admin/login/",
        {"username": "dr-li", "password": "right-horse-battery"},
        REMOTE_ADDR="10.0.0.1",
    )
    assert "_auth_user_id" not in client_https.session


def test_admin_login_works_unlocked(make_user, client_https):
    make_user("dr-li", password="right-horse-battery", is_staff=True)
    client_https.post(
        "/admin/login/",
        {"username": "dr-li", "password": "right-horse-battery"},
        REMOTE_ADDR="10.0.0.1",
    )
    assert "_auth_user_id" in client_https.session
