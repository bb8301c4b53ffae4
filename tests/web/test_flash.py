"""Messages after a redirect: one signed ``flash`` parameter, shown by the next page, never forged."""

from __future__ import annotations

from urllib.parse import quote

from tests.conftest import csrf_of, login


def test_a_page_shows_the_message_its_redirect_carries(client):
    login(client, "admin")
    r = client.post("/admin/users", data={"csrf_token": csrf_of(client, "/admin/users"), "username": "li.si",
                                          "display_name": "李四", "org_code": "320213", "role": "staff",
                                          "password": "lisi-2026-Pass"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/admin/users?flash=")
    page = client.get(r.headers["location"])
    assert 'class="flash ok"' in page.text and "已创建用户 li.si" in page.text


def test_a_crafted_message_is_not_shown(client):
    from citybase.web import flash

    login(client, "admin")
    forged = quote("您的账号已停用，请致电 400-000-0000")
    page = client.get(f"/admin/users?flash={forged}")
    assert page.status_code == 200 and "您的账号已停用" not in page.text
    genuine = flash.url("/admin/users", "已解锁用户 gaj_staff")
    tampered = genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB")
    assert "已解锁用户" not in client.get(tampered).text
    assert "已解锁用户 gaj_staff" in client.get(genuine).text


def test_an_old_message_is_not_repeated(client, monkeypatch):
    from citybase.web import flash

    login(client, "admin")
    link = flash.url("/admin/users", "已更新用户 gaj_staff", "ok")
    monkeypatch.setattr(flash, "MAX_AGE_SECONDS", -1)  # as if the link were bookmarked long ago
    assert "已更新用户 gaj_staff" not in client.get(link).text


def test_error_messages_keep_their_kind_and_fragment():
    from starlette.requests import Request

    from citybase.web import flash

    link = flash.url("/quality/101001-0001#rules", "错误：规则参数不完整", "err")
    path, _, fragment = link.partition("#")
    assert fragment == "rules" and "?flash=" in path
    query = path.split("?", 1)[1].encode()
    request = Request({"type": "http", "query_string": query, "headers": [], "method": "GET", "path": "/"})
    assert flash.read(request) == {"flash": "错误：规则参数不完整", "flash_kind": "err"}
