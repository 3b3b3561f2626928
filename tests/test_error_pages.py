import pytest
from django.test import override_settings

from medexam.models import ValidityRuleSet


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_not_found_page_chinese_with_header(client, make_user):
    client.force_login(make_user("plain-user"))
    response = client.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in page
    assert 'class="site-header"' in page


@pytest.mark.django_db
def test_forbidden_page_chinese(client, make_user):
    client.force_login(make_user("no-role-user"))
    response = client.get("/review/coordinate/")
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


@pytest.mark.django_db
def test_default_validity_rule_set_exists():
    rule_set = ValidityRuleSet.objects.get(name="standard")
    assert rule_set.min_reviews == 3
    assert rule_set.flag_actions["ambiguous"] == "exclude"


@pytest.mark.django_db
def test_forbidden_page_names_reviewer_role(client, make_user):
    client.force_login(make_user("no-role-user"))
    response = client.get("/review/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "“审核医师”" in page
    assert "reviewer" in page
    assert "manage.py add_reviewer" in page


@pytest.mark.django_db
def test_forbidden_page_names_run_roles(client, make_user, settings):
    client.force_login(make_user("no-role-user"))
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/runs/")
    page = response.content.decode()
    assert response.status_code == 403
    assert "This page needs one of the roles curator, coordinator." in page
    assert "one of the groups curator, coordinator in the admin" in page
    assert "add_reviewer" not in page


@pytest.mark.django_db
def test_forbidden_page_names_group_in_chinese(client, make_user):
    client.force_login(make_user("no-role-user"))

    single = client.get("/review/adjudicate/").content.decode()
    choice = client.get("/runs/").content.decode()

    assert "加入“仲裁医师”（adjudicator）组" in single
    assert "加入 adjudicator 组" not in single
    assert "加入“题库管理员”（curator）、“协调员”（coordinator）中的一个组" in choice
