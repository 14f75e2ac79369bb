"""Every response carries an X-Request-ID, and the access log line names it.

A well-formed id the request came with is kept (a proxy's, so its logs and
the site's agree); any other is replaced with a new one. Errors carry it
too: refusals, a missing page, a server error.
"""

from __future__ import annotations

import logging
import re
from uuid import uuid4

import pytest
from django.test import Client

from esbank_site.web.request_ids import REQUEST_ID_HEADER

NEW_ID = re.compile(r"[0-9a-f]{32}")


def access_lines(caplog):
    return [r for r in caplog.records if r.name == "esbank_site.access"]


def test_every_kind_of_answer_carries_a_new_id(
    client, alice_client, alice_account, django_bank
):
    answers = {
        200: alice_client.get("/"),
        302: client.get("/"),  # to the login page
        403: alice_client.get(f"/staff/accounts/{alice_account}/events/"),
        404: alice_client.get(f"/accounts/{uuid4()}/"),
        405: alice_client.get(f"/staff/accounts/{alice_account}/freeze/"),
        422: alice_client.post(f"/accounts/{alice_account}/withdraw/", {}),
    }
    ids = set()
    for status, response in answers.items():
        assert response.status_code == status
        assert NEW_ID.fullmatch(response[REQUEST_ID_HEADER]), status
        ids.add(response[REQUEST_ID_HEADER])
    assert len(ids) == len(answers)  # one per request


def test_a_server_error_carries_it_too(alice, django_bank, monkeypatch):
    def broken(*args, **kwargs):
        msg = "a bug"
        raise RuntimeError(msg)

    monkeypatch.setattr("accounts.services.accounts_list", broken)
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get("/", headers={REQUEST_ID_HEADER: "lb-7f3a.2"})
    assert response.status_code == 500
    assert response[REQUEST_ID_HEADER] == "lb-7f3a.2"


@pytest.mark.parametrize(
    "given", ["lb-7f3a.2", "A" * 64, "0", "proxy_id-1.2.3", "8c0b1ad2-5e0f-4c4e-9d1a"]
)
def test_a_well_formed_incoming_id_is_echoed(client, django_bank, given):
    response = client.get("/health/", headers={REQUEST_ID_HEADER: given})
    assert response[REQUEST_ID_HEADER] == given


@pytest.mark.parametrize(
    "given",
    ["", "A" * 65, "two words", "x;y", "ünïcode", "id\tx", "<script>", "a/b"],
)
def test_a_malformed_incoming_id_is_replaced(client, django_bank, given):
    response = client.get("/health/", HTTP_X_REQUEST_ID=given)
    assert response[REQUEST_ID_HEADER] != given
    assert NEW_ID.fullmatch(response[REQUEST_ID_HEADER])


def test_the_view_sees_the_id_as_request_id(alice_client, django_bank):
    response = alice_client.get("/", headers={REQUEST_ID_HEADER: "trace-42"})
    assert response.wsgi_request.id == "trace-42"


def test_each_request_logs_one_access_line_with_its_id(
    alice_client, alice_account, django_bank, caplog
):
    caplog.set_level(logging.INFO, logger="esbank_site.access")
    alice_client.get(f"/accounts/{alice_account}/?q=1", headers={"X-Request-ID": "r1"})
    alice_client.get(f"/accounts/{uuid4()}/", headers={"X-Request-ID": "r2"})
    first, second = access_lines(caplog)
    line = first.getMessage()
    assert line.startswith(f'127.0.0.1 "GET /accounts/{alice_account}/?q=1" 200 ')
    assert line.endswith(" id=r1")
    assert second.getMessage().endswith(" id=r2")
    assert " 404 " in second.getMessage()
    assert (first.request_id, second.status_code) == ("r1", 404)


def test_the_access_line_is_one_line_whatever_the_path(client, django_bank, caplog):
    caplog.set_level(logging.INFO, logger="esbank_site.access")
    client.get("/no%0Asuch%0D/page/", HTTP_X_REQUEST_ID="bad\nid")
    [record] = access_lines(caplog)
    assert "\n" not in record.getMessage()
    assert "\r" not in record.getMessage()
