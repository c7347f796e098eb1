"""The portal's pack config form (issue 15): generated from the pack's config schema with the
action forms' machinery, for administrators only, saved through the API; secrets never sent
to the browser and kept when left blank; errors beside their field with the input kept."""

import json

import pytest

from st2bridge import datastore
from st2bridge.constants import MASK
from st2bridge.models import PackConfig

from .config_support import SECRETS, VALUES, register_with, write_config_pack

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/packs/cfg/config"
FILLED = {
    "api_url": "https://api.example",
    "api_token": "tok-s3cret-1",
    "port": "8443",
    "region": "eu",
    "auth": '{"username": "svc", "password": "pw-s3cret-2"}',
    "accounts-0-name": "first",
    "accounts-0-password": "pw-s3cret-3",
    "accounts-0-port": "",
    "accounts-1-name": "second",
}


@pytest.fixture
def pack(portal, shared_tmp):
    pack = write_config_pack(shared_tmp / "packs")
    register_with(pack)
    return pack


def stored():
    row = PackConfig.objects.get(pack="cfg")
    return json.loads(datastore.decrypt(row.sealed_values)) if row.sealed_values else row.values


def test_members_may_not_open_it(pack, alice_browser):
    assert alice_browser.get(URL).status_code == 403
    assert alice_browser.post(URL, FILLED).status_code == 403
    assert not PackConfig.objects.exists()


def test_admins_find_it_from_the_packs_page(pack, admin_browser, alice_browser):
    assert f'href="{URL}"' in admin_browser.get("/packs").content.decode()
    assert 'href="/packs/core/config"' not in admin_browser.get("/packs").content.decode()
    assert f'href="{URL}"' not in alice_browser.get("/packs").content.decode()


def test_the_form_is_generated_from_the_schema(pack, admin_browser):
    page = admin_browser.get(URL).content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
    assert '<input type="password" name="api_token"' in page
    assert 'name="port" value="443"' in page  # defaults fill it in
    assert '<select name="region"' in page
    assert '<textarea name="auth"' in page  # an object: JSON
    assert 'name="accounts-0-name"' in page  # an array of objects: rows
    assert "This pack has no config yet" in page


def test_an_admin_saves_a_config_through_the_api(pack, admin_browser):
    response = admin_browser.post(URL, FILLED)
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == URL
    assert stored() == {
        "api_url": "https://api.example",
        "api_token": "tok-s3cret-1",
        "port": 8443,
        "region": "eu",
        "auth": {"username": "svc", "password": "pw-s3cret-2"},
        # the rows' empty ports take the schema's default, as the action forms' rows do
        "accounts": [
            {"name": "first", "password": "pw-s3cret-3", "port": 465},
            {"name": "second", "port": 465},
        ],
    }
    page = admin_browser.get(URL).content.decode()
    assert "The config of cfg was saved." in page
    assert not any(secret in page for secret in SECRETS)  # secrets never come back
    assert MASK in page  # nested secrets are shown masked
    assert "Leave blank to keep the stored value." in page


def test_blank_and_masked_secrets_keep_their_stored_values(pack, admin_browser):
    admin_browser.post(URL, FILLED)
    page = admin_browser.get(URL).content.decode()
    assert '<input type="password" name="accounts-0-password" value="********"' in page
    # What the browser sends back: the token left blank, nested secrets masked, a new port.
    again = {
        **FILLED,
        "api_token": "",
        "port": "9000",
        "auth": json.dumps({"username": "svc", "password": MASK}),
        "accounts-0-password": MASK,
    }
    assert admin_browser.post(URL, again).status_code == 302
    assert stored() == {
        **VALUES,
        "api_url": "https://api.example",
        "region": "eu",
        "port": 9000,
        "accounts": [
            {"name": "first", "password": "pw-s3cret-3", "port": 465},
            {"name": "second", "port": 465},
        ],
    }


def test_errors_show_beside_their_field_with_the_input_kept(pack, admin_browser):
    response = admin_browser.post(URL, {**FILLED, "port": "not a number", "api_token": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_port_error"' in page and "Enter a whole number." in page
    assert 'id="id_api_token_error"' in page and "This field is required." in page
    assert 'value="not a number"' in page  # the input is kept ...
    assert "tok-s3cret-1" not in page  # ... but never a secret
    assert not PackConfig.objects.exists()


def test_nested_problems_and_api_refusals_are_shown(pack, admin_browser):
    nested = admin_browser.post(URL, {**FILLED, "auth": '{"password": "x"}'})
    assert nested.status_code == 400
    page = nested.content.decode()
    assert 'id="id_auth_error"' in page
    assert "auth: &#x27;username&#x27; is a required property" in page
    # The API's own refusal (decrypt_kv on a secret item): above the form, input kept.
    template = "{{ st2kv.system.token | decrypt_kv }}"
    refused = admin_browser.post(
        URL, {**FILLED, "api_url": "https://kept.example", "api_token": template}
    )
    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'id="form-error-1" tabindex="-1">Values specified as &quot;secret: True&quot;' in page
    assert 'value="https://kept.example"' in page
    assert not PackConfig.objects.exists()


def test_items_outside_the_schema_are_kept(pack, admin_api, admin_browser):
    admin_api.put("/api/v1/configs/cfg", {**VALUES, "legacy": "kept"}, format="json")
    assert admin_browser.post(URL, {**FILLED, "api_token": ""}).status_code == 302
    assert stored()["legacy"] == "kept"


def test_a_pack_without_a_schema_or_unknown_is_404(pack, admin_browser):
    assert admin_browser.get("/packs/demo/config").status_code == 404
    assert admin_browser.get("/packs/nope/config").status_code == 404


def test_a_schema_item_without_a_type_is_a_text_field(portal, shared_tmp, admin_browser):
    register_with(write_config_pack(shared_tmp / "packs", schema="anything:\n", name="loose"))
    page = admin_browser.get("/packs/loose/config")
    assert page.status_code == 200
    assert 'name="anything"' in page.content.decode()
    assert admin_browser.post("/packs/loose/config", {"anything": "x"}).status_code == 302
