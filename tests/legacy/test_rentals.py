"""Rent actions of the legacy protocol (reference §4.4): their parameters and error shapes."""

from __future__ import annotations

import json

import pytest

WRONG_KEY = "wrongKeyWrongKeyWrongKeyWrongKey"


@pytest.mark.parametrize("name", ["rent_time", "time", "duration"])
def test_the_rental_length_is_read_under_each_of_its_three_names(legacy, make_user, name):
    key = make_user().key
    named = json.loads(legacy.text(key, "getRentServicesAndCountries", country="16", **{name: "24"}))
    day = json.loads(legacy.text(key, "getRentServicesAndCountries", country="16", rent_time="24"))
    default = json.loads(legacy.text(key, "getRentServicesAndCountries", country="16"))
    assert named == day and named["services"]["wa"]["cost"] > default["services"]["wa"]["cost"]


def test_rent_errors_are_json_with_the_token_under_message_but_bad_key_and_bad_action_stay_plain(legacy, make_user):
    key = make_user().key
    refused = legacy(key, "getRentServicesAndCountries", country="62")
    assert refused.content_type == "application/json"
    assert json.loads(refused.get_data(as_text=True))["message"] == "OUT_OF_STOCK"
    assert legacy.text(WRONG_KEY, "getRentServicesAndCountries") == "BAD_KEY"
    assert legacy.text(key, "getRentServicesAndCountriez") == "BAD_ACTION"


def test_get_countries_says_where_numbers_can_be_rented(legacy, make_user):
    countries = json.loads(legacy.text(make_user().key, "getCountries"))
    assert countries["16"]["rent"] == 1 and countries["62"]["rent"] == 0
