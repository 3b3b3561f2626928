import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_login_page_chinese_despite_english_browser(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.status_code == 200
    assert "登录" in response.content.decode()


@pytest.mark.django_db
def test_language_cookie_switches_to_english(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("login"))
    assert "Log in" in response.content.decode()


@pytest.mark.django_db
def test_unknown_language_cookie_falls_back_to_chinese(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"
    response = client.get(reverse("login"))
    assert "登录" in response.content.decode()
