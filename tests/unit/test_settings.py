from atelier.settings import Settings


def test_settings_are_read_from_upper_case_environment_names():
    # Given an environment as Lambda would give it
    environ = {"STAGE": "prod", "MAIN_TABLE_NAME": "atelier-prod-main", "WEB_ORIGINS": "https://a.test, https://b.test"}
    # When
    settings = Settings.from_environ(environ)
    # Then
    assert settings.stage == "prod"
    assert settings.main_table_name == "atelier-prod-main"
    assert settings.web_origins == ["https://a.test", "https://b.test"]


def test_region_falls_back_to_the_default_region_variable():
    assert Settings.from_environ({"AWS_DEFAULT_REGION": "eu-west-1"}).aws_region == "eu-west-1"
    assert Settings.from_environ({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "x"}).aws_region == "eu-central-1"


def test_unrelated_environment_variables_are_ignored():
    assert Settings.from_environ({"PATH": "/usr/bin", "HOME": "/root"}).stage == "dev"
