import time
import pytest
from .st2web_support import StaticServer, point_at, unpack


@pytest.fixture
def st2web(tmp_path, portal, settings):
    build = unpack(tmp_path)
    point_at(build, portal.url)
    with StaticServer(build) as server:
        settings.CORS_ALLOWED_ORIGINS = [server.url]
        yield server


def test_probe(chromium, st2web, admin_user, worker):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log = []
    page.on("response", lambda r: log.append((r.status, r.request.method, r.url)))
    page.on("console", lambda m: log.append(("console", m.type, m.text)))
    page.goto(st2web.url + "/index.html")
    page.get_by_placeholder("Username").fill("admin")
    page.get_by_placeholder("Password").fill("correct horse battery staple")
    page.keyboard.press("Enter")
    time.sleep(4)
    for hash_ in ["#/actions", "#/actions/core.local", "#/history", "#/rules", "#/packs", "#/triggers", "#/inquiry"]:
        page.goto(st2web.url + "/index.html" + hash_)
        time.sleep(3)
        page.screenshot(path=f"/tmp/st2web-probe/{hash_[2:].replace('/', '_')}.png")
    for entry in log:
        print(entry)
    context.close()
