"""The public client libraries, unmodified, drive a real HTTP server through whole bot flows.

`smsactivate` 1.5 (the official module) keeps its URL in a private instance attribute set by
its constructor; `smsactivateru` 1.2.6 in the `url` attribute of its `Sms` wrapper. Only those
attributes are pointed at the test server; the libraries' files are untouched.
"""

from __future__ import annotations

import re
import threading
from decimal import Decimal

import pytest
import smsactivate.api as smsactivate  # both are in requirements-dev.txt: never skipped
import smsactivateru

from smsbulk.extensions import db
from smsbulk.models import Activation, Rental
from tests.factories import assert_ledger_exact, balance


@pytest.fixture
def base_url(live_url):
    return f"{live_url}/stubs/handler_api.php"


@pytest.fixture
def no_sleep(monkeypatch):
    """smsactivateru's wait_code sleeps a second before each poll; the code is already there."""
    import smsactivateru.activations as module

    class Clock:
        @staticmethod
        def sleep(seconds):
            pass

    monkeypatch.setattr(module, "time", Clock)


def official(key: str, url: str):
    api = smsactivate.SMSActivateAPI(key)
    api._SMSActivateAPI__api_url = url  # the constructor's hard-coded sms-activate.org URL
    return api


def code_of(activation_id: int) -> str:
    with db.connection_context():
        return Activation.get_by_id(activation_id).sms_code


def test_the_official_module_buys_waits_for_the_code_and_finishes(base_url, make_user, deliver_sms):
    account = make_user("10.00")
    api = official(account.key, base_url)
    assert api.getBalance() == {"balance": "10.00"}
    number = api.getNumber(service="wa", country=62)
    assert set(number) == {"activation_id", "phone"} and str(number["phone"]).startswith("90")
    assert api.getStatus(id=number["activation_id"]) == "STATUS_WAIT_CODE"
    deliver_sms()
    code = code_of(number["activation_id"])
    assert api.getStatus(id=number["activation_id"]) == f"STATUS_OK:{code}"
    assert api.getFullSms(id=number["activation_id"]).endswith(f"{code}. Do not share it.")
    assert api.setStatus(id=number["activation_id"], status=6) == "ACCESS_ACTIVATION"
    assert Decimal(api.getBalance()["balance"]) < Decimal("10.00")
    assert_ledger_exact(account)


def test_the_official_module_buys_and_cancels_for_a_full_refund(base_url, make_user):
    account = make_user("10.00")
    api = official(account.key, base_url)
    number = api.getNumberV2(service="tg", country=187)
    assert number["phoneNumber"].startswith("1") and number["currency"] == 840
    assert api.setStatus(id=number["activationId"], status=8) == "ACCESS_CANCEL"
    assert api.getStatus(id=number["activationId"])["error"] == "STATUS_CANCEL"  # its dict treats it as one
    assert api.getBalance() == {"balance": "10.00"}
    assert_ledger_exact(account)


def test_the_official_module_reads_the_catalogue_and_recognises_every_error(base_url, make_user):
    account = make_user("0.00")
    api = official(account.key, base_url)
    assert api.getNumbersStatus(country=62)["wa"] == "500"
    assert api.getPrices(service="wa", country=62) == {"62": {"wa": {"cost": 0.23, "count": 500, "physicalCount": 500}}}
    assert api.getCountries()["187"]["eng"] == "USA"
    assert api.getOperators(country=62) == {"status": "success", "countryOperators": {"62": ["any"]}}
    assert api.getActiveActivations() == {"status": "error", "error": "NO_ACTIVATIONS"}
    assert api.getNumber(service="wa", country=62)["error"] == "NO_BALANCE"
    assert api.getStatus(id=12345)["error"] == "NO_ACTIVATION"
    assert api.getRentNumber(service="wa")["message"] == "NO_BALANCE"
    assert official("k" * 32, base_url).getBalance()["error"] == "BAD_KEY"


def test_smsactivateru_buys_waits_for_the_code_and_finishes(base_url, make_user, deliver_sms, no_sleep):
    account = make_user("10.00")
    wrapper = smsactivateru.Sms(account.key)
    wrapper.url = base_url
    assert smsactivateru.GetBalance().request(wrapper) == 10.0
    activation = smsactivateru.GetNumber(
        service=smsactivateru.SmsService().Telegram, country=smsactivateru.SmsTypes.Country.UK
    ).request(wrapper)
    assert activation.phone_number.startswith("44")
    assert activation.was_sent() == {"status": "ACCESS_READY"}
    deliver_sms()
    code = activation.wait_code(timeout=5)  # reads STATUS_OK:<code>, then sends status 6 itself
    assert code == code_of(int(activation.id))
    with db.connection_context():
        assert Activation.get_by_id(int(activation.id)).status == "COMPLETED"
    assert balance(account) < Decimal("10.00")
    assert_ledger_exact(account)


def test_smsactivateru_buys_and_cancels_for_a_full_refund(base_url, make_user):
    account = make_user("10.00")
    wrapper = smsactivateru.Sms(account.key)
    wrapper.url = base_url
    activation = smsactivateru.GetNumber(service=smsactivateru.SmsService().Whatsapp, country="62").request(wrapper)
    assert activation.cancel() == {"status": "ACCESS_CANCEL"}  # status -1, the old cancel
    with pytest.raises(Exception) as cancelled:
        smsactivateru.GetStatus(id=activation.id).request(wrapper)
    assert cancelled.value.code == "STATUS_CANCEL"
    assert smsactivateru.GetBalance().request(wrapper) == 10.0
    assert_ledger_exact(account)


def test_smsactivateru_reads_free_slots_with_a_key_set_to_the_older_form(base_url, make_user):
    account = make_user("1.00", legacy_numbers_status_v1=True)
    wrapper = smsactivateru.Sms(account.key)
    wrapper.url = base_url
    slots = smsactivateru.GetFreeSlots(country="62").request(wrapper)
    assert slots.Telegram.count == 500 and slots.Avito.count == 0 and slots.AvitoSmsForwarding.count == 0


def test_smsactivateru_raises_its_own_errors_for_a_bad_key_and_an_empty_wallet(base_url, make_user):
    wrapper = smsactivateru.Sms("b" * 32)
    wrapper.url = base_url
    with pytest.raises(Exception) as bad_key:
        smsactivateru.GetBalance().request(wrapper)
    assert bad_key.value.code == "BAD_KEY"
    empty = smsactivateru.Sms(make_user("0.00").key)
    empty.url = base_url
    with pytest.raises(Exception) as no_balance:
        smsactivateru.GetNumber(service=smsactivateru.SmsService().VkCom, country="0").request(empty)
    assert no_balance.value.code == "NO_BALANCE"


@pytest.fixture
def sms_keep_arriving(app):
    """What the worker's cron does in production: poll the upstream for SMS, here every 50 ms."""
    from workers.tasks import poll_statuses

    stop = threading.Event()

    def loop():
        with app.app_context():
            while not stop.wait(0.05):
                poll_statuses()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=5)


def python_examples() -> list[str]:
    from pathlib import Path

    guide = (Path(__file__).parents[2] / "docs" / "migration.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", guide, flags=re.S)


def test_the_migration_guide_has_three_python_examples():
    assert len(python_examples()) == 3


@pytest.mark.parametrize("example", range(3))
def test_the_python_examples_of_the_migration_guide_run_as_written(
    app, base_url, make_user, monkeypatch, sms_keep_arriving, example
):
    app.config["SIMULATOR_SMS_DELAY_SECONDS"] = 0.5  # so the spare number is cancelled before its SMS
    account = make_user("30.00")
    monkeypatch.setenv("SMSBULK_URL", base_url.removesuffix("/stubs/handler_api.php"))
    monkeypatch.setenv("SMSBULK_KEY", account.key)
    exec(python_examples()[example], {})
    with db.connection_context():
        statuses = sorted(a.status for a in Activation.select().where(Activation.user == account.user))
        rentals = [r.status for r in Rental.select().where(Rental.user == account.user)]
    assert (statuses, rentals) == [(["COMPLETED"], []), (["CANCELED", "COMPLETED"], []), ([], ["FINISHED"])][example]
    assert_ledger_exact(account)
