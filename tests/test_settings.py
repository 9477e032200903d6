"""Each sampling setting is declared once and offered everywhere: as a `textgen sample`
option, an interactive command and an HTTP field of both APIs, with one validation."""

import dataclasses
import re

import click
import pytest

from textgen.cli.app import cli
from textgen.errors import InvalidArgument
from textgen.generate import interactive
from textgen.generate.samplers import SamplerSettings
from textgen.generate.settings import SETTINGS
from textgen.serve.params import NATIVE_KEYS, ApiError, Limits, native_request, openai_request


def bad_value(setting):
    """A value of the right type outside the setting's range."""
    return setting.low - 1 if setting.kind is int else setting.low - 0.5


def test_the_declarations_are_the_sampler_settings_fields():
    fields = dataclasses.fields(SamplerSettings)
    assert [f.name for f in fields] == [s.name for s in SETTINGS]
    assert [f.default for f in fields] == [s.default for s in SETTINGS]
    for s in SETTINGS:
        s.check(s.default)  # every default is valid
        with pytest.raises(InvalidArgument, match=f"^`{s.name}` must be {re.escape(s.rule())}"):
            SamplerSettings(**{s.name: bad_value(s)})


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_a_sample_option(setting):
    options = {p.name: p for p in cli.commands["sample"].params}
    option = options[setting.name]
    assert option.opts == [f"--{setting.option}"] and option.help == setting.help
    assert option.show_default
    if not setting.sweep:
        assert option.default == setting.default
        assert option.type.min == setting.low and option.type.max == setting.high
        assert option.type.min_open == setting.low_open
        with pytest.raises(click.BadParameter):
            option.type.convert(bad_value(setting), option, None)


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_an_interactive_command(setting):
    assert setting.option in interactive.COMMANDS
    assert f"/{setting.option} {setting.metavar}" in interactive.HELP
    session = interactive.Session(gen=None, settings=SamplerSettings(), length=10)
    value = setting.kind(setting.low + 1)  # valid for every declared range
    if setting.high is not None:
        value = setting.kind(setting.high)
    reply = session.handle(f"/{setting.option} {value}")
    assert getattr(session.settings, setting.name) == value, reply.message
    assert f"{setting.option} {value:g}" in session.describe()  # named as it is typed
    refused = session.handle(f"/{setting.option} {bad_value(setting)}")
    assert refused.message.startswith(f"error: /{setting.option} ")
    assert f"`{setting.name}` must be" in refused.message
    assert getattr(session.settings, setting.name) == value  # unchanged


@pytest.mark.parametrize("parse", [native_request, openai_request], ids=["native", "openai"])
@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_an_http_field_of_both_apis(setting, parse):
    assert setting.name in NATIVE_KEYS
    value = setting.kind(setting.high if setting.high is not None else setting.low + 1)
    req = parse({"model": "m", setting.name: value}, Limits(), None)
    assert getattr(req.settings, setting.name) == value
    assert parse({"model": "m"}, Limits(), None).settings == SamplerSettings()
    for bad in (bad_value(setting), "x", True):
        with pytest.raises(ApiError) as e:
            parse({"model": "m", setting.name: bad}, Limits(), None)
        assert e.value.status == 400 and e.value.param == setting.name


def test_the_first_token_of_an_empty_prompt_resets_only_undeclared_settings():
    s = SamplerSettings(temperature=0, top_k=3, top_p=0.5, repetition_penalty=2.0,
                        repetition_window=5)
    first = s.for_first_token()
    for setting in SETTINGS:
        want = getattr(s, setting.name) if setting.first_token else setting.default
        assert getattr(first, setting.name) == want
