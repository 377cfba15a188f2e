import pytest
from pydantic import ValidationError

from atelier.settings import CONCERN_OF_FIELD, BillingSettings, Settings


def test_settings_are_read_from_upper_case_environment_names():
    # Given an environment as Lambda would give it
    environ = {"STAGE": "prod", "MAIN_TABLE_NAME": "atelier-prod-main", "WEB_ORIGINS": "https://a.test, https://b.test"}
    # When
    settings = Settings.from_environ(environ)
    # Then each value lands in its concern
    assert settings.platform.stage == "prod"
    assert settings.resources.main_table_name == "atelier-prod-main"
    assert settings.platform.web_origins == ["https://a.test", "https://b.test"]


def test_region_falls_back_to_the_default_region_variable():
    assert Settings.from_environ({"AWS_DEFAULT_REGION": "eu-west-1"}).platform.aws_region == "eu-west-1"
    both = {"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "x"}
    assert Settings.from_environ(both).platform.aws_region == "eu-central-1"


def test_unrelated_environment_variables_are_ignored():
    assert Settings.from_environ({"PATH": "/usr/bin", "HOME": "/root"}).platform.stage == "dev"


def test_every_field_belongs_to_exactly_one_concern_and_no_field_is_named_as_a_concern():
    # The environment is flat: a name shared by two concerns could not say which one it sets.
    names = [name for concern in Settings.model_fields for name in _fields_of(concern)]
    assert len(names) == len(set(names)) == len(CONCERN_OF_FIELD)
    assert not set(names) & set(Settings.model_fields)


def test_flat_names_given_to_the_constructor_go_to_their_concern_and_others_keep_their_defaults():
    settings = Settings(admin_emails=["mod@example.com"], max_jobs_in_flight=2)
    assert settings.sign_in.admin_emails == ["mod@example.com"]
    assert settings.generation.max_jobs_in_flight == 2
    assert settings.billing == BillingSettings()


def test_replace_changes_only_the_named_fields_and_validates_them_like_the_environment():
    settings = Settings.from_environ({"STAGE": "prod", "MINIMUM_AGE": "18"})
    changed = settings.replace(payment_providers="stripe, creem")
    assert changed.billing.payment_providers == ["stripe", "creem"]
    assert (changed.platform.stage, changed.sign_in.minimum_age) == ("prod", 18)
    with pytest.raises(ValidationError):
        settings.replace(minimum_age=21)


def test_a_concern_given_whole_and_a_flat_name_of_it_are_merged():
    given = Settings(billing=BillingSettings(paypal_client_id="client"), checkout_success_url="https://a.test/ok")
    assert (given.billing.paypal_client_id, given.billing.checkout_success_url) == ("client", "https://a.test/ok")


def _fields_of(concern: str) -> list[str]:
    annotation = Settings.model_fields[concern].annotation
    assert annotation is not None
    return list(annotation.model_fields)
