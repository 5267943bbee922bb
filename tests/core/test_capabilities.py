"""The capability matrix: only whole pairs are listed, features combine truthfully,
unknown pairs raise UnsupportedTransport with a hint, clashes are PluginErrors."""

from __future__ import annotations

import dataclasses
import itertools
from typing import TYPE_CHECKING, Any, get_type_hints

import pytest

import liveloop
from liveloop import PluginError, UnsupportedTransport
from liveloop.plugin import Features, PluginManager

if TYPE_CHECKING:
    from .conftest import FakePluginFactory, ProviderFactory, TransportFactory

BOOLEAN_FLAGS = [name for name, kind in get_type_hints(Features).items() if kind is bool]


def _pairs(manager: PluginManager) -> list[str]:
    return [f"{row.provider}/{row.transport}" for row in liveloop.capabilities(manager)]


# -- half pairs ----------------------------------------------------------------------------


def test_nothing_installed_lists_nothing(manager: PluginManager) -> None:
    assert liveloop.capabilities(manager) == []


def test_provider_without_transport_is_not_listed(
    manager: PluginManager, fake_plugin: FakePluginFactory, provider_spec: ProviderFactory
) -> None:
    fake_plugin("prov-only", providers=[provider_spec("fakeprov")])

    assert "fakeprov" in manager.providers()
    assert liveloop.capabilities(manager) == []


def test_transport_without_provider_is_not_listed(
    manager: PluginManager, fake_plugin: FakePluginFactory, transport_spec: TransportFactory
) -> None:
    fake_plugin("trans-only", transports=[transport_spec("fakeprov", "faketrans")])

    assert ("fakeprov", "faketrans") in manager.transports()
    assert liveloop.capabilities(manager) == []
    with pytest.raises(UnsupportedTransport):
        liveloop.plugin.resolve("fakeprov", "faketrans", manager)


def test_both_halves_from_two_plugins_make_a_pair(
    manager: PluginManager,
    fake_plugin: FakePluginFactory,
    provider_spec: ProviderFactory,
    transport_spec: TransportFactory,
) -> None:
    fake_plugin(
        "trans",
        distribution="fake-transport-dist",
        version="2.0",
        transports=[
            transport_spec("fakeprov", "faketrans"),
            transport_spec("otherprov", "faketrans"),  # its provider is not installed
        ],
    )
    fake_plugin(
        "prov",
        distribution="fake-provider-dist",
        version="1.0",
        providers=[provider_spec("fakeprov")],
    )

    [row] = liveloop.capabilities(manager)

    assert (row.provider, row.transport) == ("fakeprov", "faketrans")
    # The pair is credited to the transport's distribution; the provider's is kept too.
    assert (row.plugin, row.version) == ("fake-transport-dist", "2.0")
    assert (row.provider_plugin, row.provider_version) == ("fake-provider-dist", "1.0")


def test_pairs_are_sorted_and_disappear_on_unregister(
    manager: PluginManager,
    fake_plugin: FakePluginFactory,
    provider_spec: ProviderFactory,
    transport_spec: TransportFactory,
) -> None:
    fake_plugin(
        "b",
        providers=[provider_spec("bprov")],
        transports=[
            transport_spec("bprov", "zeta"),
            transport_spec("bprov", "alpha"),
        ],
    )
    fake_plugin("a", providers=[provider_spec("aprov")], transports=[transport_spec("aprov", "ws")])
    assert _pairs(manager) == ["aprov/ws", "bprov/alpha", "bprov/zeta"]

    manager.unregister("b")

    assert _pairs(manager) == ["aprov/ws"]


# -- unsupported pairs ---------------------------------------------------------------------


def test_unsupported_pair_hints_the_provider_package_its_transports_declare(
    manager: PluginManager,
    fake_plugin: FakePluginFactory,
    provider_spec: ProviderFactory,
    transport_spec: TransportFactory,
) -> None:
    # A transport installed without its provider names the provider's package.
    needs = dataclasses.replace(transport_spec("acme", "ws"), provider_package="liveloop-acme")
    fake_plugin("fake", providers=[provider_spec("fakeprov")], transports=[needs])

    with pytest.raises(UnsupportedTransport) as caught:
        liveloop.plugin.resolve("acme", "ws", manager)

    error = caught.value
    assert (error.provider, error.transport) == ("acme", "ws")
    assert error.available == []
    assert error.install_hint == "liveloop-acme"
    message = str(error)
    assert "acme/ws" in message
    assert "installed pairs: none" in message
    assert "install liveloop-acme to add it" in message


@pytest.mark.parametrize(
    ("transport", "hint"),
    [("websocket", "liveloop-gemini-websocket"), ("phone", "liveloop-gemini-phone")],
)
def test_unsupported_pair_hints_the_transport_package_its_provider_declares(
    manager: PluginManager,
    fake_plugin: FakePluginFactory,
    provider_spec: ProviderFactory,
    transport: str,
    hint: str,
) -> None:
    # Any provider plugin (here a Gemini one) names the packages of its transports.
    declared = {"websocket": "liveloop-gemini-websocket", "phone": "liveloop-gemini-phone"}
    gemini = dataclasses.replace(provider_spec("gemini"), transport_packages=declared)
    fake_plugin("gemini-codec", providers=[gemini])

    with pytest.raises(UnsupportedTransport) as caught:
        liveloop.plugin.resolve("gemini", transport, manager)

    assert caught.value.install_hint == hint
    assert caught.value.available == []
    assert "installed pairs: none" in str(caught.value)
    assert f"install {hint} to add it" in str(caught.value)


def test_unknown_pair_has_no_hint(manager: PluginManager) -> None:
    with pytest.raises(UnsupportedTransport) as caught:
        liveloop.plugin.resolve("acme", "sip", manager)

    assert caught.value.install_hint is None
    assert "; install" not in str(caught.value)


def test_core_has_no_table_of_packages() -> None:
    # The hints come from the installed plugins' metadata only.
    import liveloop.matrix

    assert not hasattr(liveloop.matrix, "KNOWN_PACKAGES")


async def test_connect_resolves_from_the_matrix(
    manager: PluginManager, fake_plugin: FakePluginFactory, provider_spec: ProviderFactory
) -> None:
    declared = {"webrtc": "liveloop-acme-webrtc"}
    acme = dataclasses.replace(provider_spec("acme"), transport_packages=declared)
    fake_plugin("acme-codec", providers=[acme])

    with pytest.raises(UnsupportedTransport, match="liveloop-acme-webrtc"):
        async with liveloop.connect(provider="acme", transport="webrtc", plugins=manager):
            pytest.fail("connected to a pair that is not installed")


def test_resolve_returns_both_halves(
    manager: PluginManager,
    fake_plugin: FakePluginFactory,
    provider_spec: ProviderFactory,
    transport_spec: TransportFactory,
) -> None:
    provider = provider_spec("fakeprov")
    transport = transport_spec("fakeprov", "faketrans")
    fake_plugin("fake", providers=[provider], transports=[transport])

    got_provider, got_transport, capability = liveloop.plugin.resolve(
        "fakeprov", "faketrans", manager
    )

    assert got_provider.spec is provider
    assert got_transport.spec is transport
    assert capability == liveloop.capabilities(manager)[0]


# -- feature combination -------------------------------------------------------------------


@pytest.mark.parametrize("flag", BOOLEAN_FLAGS)
@pytest.mark.parametrize(
    ("on_provider", "on_transport"), list(itertools.product([True, False], [True, False]))
)
def test_boolean_flags_need_both_sides(flag: str, on_provider: bool, on_transport: bool) -> None:
    provider = Features(**{flag: on_provider})
    transport = Features(**{flag: on_transport})

    combined = provider.combine(transport)

    assert getattr(combined, flag) is (on_provider and on_transport)
    # The other flags stay off.
    assert all(not getattr(combined, other) for other in BOOLEAN_FLAGS if other != flag)


def test_every_boolean_flag_is_covered() -> None:
    assert set(BOOLEAN_FLAGS) == {
        "audio_in",
        "audio_out",
        "text",
        "server_vad",
        "semantic_vad",
        "tools",
        "verbatim_say",
        "sideband",
    }


@pytest.mark.parametrize(
    ("provider", "transport", "expected"),
    [
        ("client_truncates", "server_truncates", "server_truncates"),
        ("server_truncates", "client_truncates", "client_truncates"),
        ("client_truncates", "none", "none"),
        ("none", "client_truncates", "none"),
    ],
)
def test_transport_decides_who_truncates(provider: str, transport: str, expected: str) -> None:
    combined = Features(interruption=provider).combine(Features(interruption=transport))  # type: ignore[arg-type]
    assert combined.interruption == expected


@pytest.mark.parametrize("media", ["none", "events", "track", "direct"])
def test_transport_decides_where_media_flows(media: Any) -> None:
    assert Features(media="events").combine(Features(media=media)).media == media


def test_audio_formats_are_the_intersection_in_transport_order() -> None:
    provider = Features(audio_formats=("pcm16", "g711_ulaw", "g711_alaw"))
    transport = Features(audio_formats=("opus", "g711_alaw", "pcm16"))

    assert provider.combine(transport).audio_formats == ("g711_alaw", "pcm16")
    assert provider.combine(Features(audio_formats=("opus",))).audio_formats == ()


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("interruption", "sometimes", "'none' or 'client_truncates' or 'server_truncates'"),
        ("media", "rtp", "'none' or 'events' or 'track' or 'direct'"),
        ("tools", "yes", "True or False"),
        ("audio_formats", "pcm16", "a tuple of format names"),
        ("audio_formats", ("pcm16", 16000), "a tuple of format names"),
    ],
)
def test_a_wrong_declaration_names_its_field(field: str, value: Any, expected: str) -> None:
    with pytest.raises(TypeError) as caught:
        Features(**{field: value})
    assert str(caught.value) == f"Features.{field}: expected {expected}, got {value!r}"


def test_declared_formats_are_a_tuple_and_features_are_frozen() -> None:
    features = Features(audio_formats=["pcm16"])  # type: ignore[arg-type]
    assert features.audio_formats == ("pcm16",)
    assert hash(features) == hash(Features(audio_formats=("pcm16",)))
    with pytest.raises(AttributeError):
        features.text = True  # type: ignore[misc]
    with pytest.raises(TypeError, match="unexpected keyword argument 'telepathy'"):
        Features(telepathy=True)  # type: ignore[call-arg]


def test_matrix_reports_combined_features(
    manager: PluginManager,
    fake_plugin: FakePluginFactory,
    provider_spec: ProviderFactory,
    transport_spec: TransportFactory,
) -> None:
    provider = Features(
        audio_in=True,
        audio_out=True,
        tools=True,
        interruption="client_truncates",
        media="events",
        audio_formats=("pcm16", "g711_ulaw"),
    )
    transport = Features(
        audio_in=True,
        text=True,
        tools=True,
        interruption="server_truncates",
        media="track",
        audio_formats=("pcm16",),
    )
    fake_plugin(
        "fake",
        providers=[provider_spec("fakeprov", provider)],
        transports=[transport_spec("fakeprov", "faketrans", transport)],
    )

    [row] = liveloop.capabilities(manager)

    assert row.features == Features(
        audio_in=True,
        tools=True,
        interruption="server_truncates",
        media="track",
        audio_formats=("pcm16",),
    )
    assert row.as_dict()["features"]["audio_formats"] == ["pcm16"]


# -- clashes and wrong registrations -------------------------------------------------------


def test_duplicate_pair_names_both_distributions(
    manager: PluginManager,
    fake_plugin: FakePluginFactory,
    provider_spec: ProviderFactory,
    transport_spec: TransportFactory,
) -> None:
    fake_plugin("codec", providers=[provider_spec("fakeprov")])
    fake_plugin(
        "one",
        distribution="liveloop-fake-one",
        version="1.0",
        transports=[transport_spec("fakeprov", "faketrans")],
    )
    fake_plugin(
        "two",
        distribution="liveloop-fake-two",
        version="2.0",
        transports=[transport_spec("fakeprov", "faketrans")],
    )

    with pytest.raises(PluginError) as caught:
        liveloop.capabilities(manager)

    message = str(caught.value)
    assert "'fakeprov/faketrans' is registered twice" in message
    assert "liveloop-fake-one 1.0" in message
    assert "liveloop-fake-two 2.0" in message
    with pytest.raises(PluginError, match="registered twice"):
        liveloop.plugin.resolve("fakeprov", "faketrans", manager)

    manager.unregister("two")  # removing either one clears the clash
    assert _pairs(manager) == ["fakeprov/faketrans"]


def test_duplicate_provider_names_both_distributions(
    manager: PluginManager, fake_plugin: FakePluginFactory, provider_spec: ProviderFactory
) -> None:
    fake_plugin("one", distribution="liveloop-fake-one", providers=[provider_spec("fakeprov")])
    fake_plugin("two", distribution="liveloop-fake-two", providers=[provider_spec("fakeprov")])

    with pytest.raises(PluginError) as caught:
        manager.providers()

    message = str(caught.value)
    assert "provider 'fakeprov' is registered twice" in message
    assert "liveloop-fake-one" in message
    assert "liveloop-fake-two" in message


def test_provider_hook_registering_a_transport_spec_is_a_plugin_error(
    manager: PluginManager, fake_plugin: FakePluginFactory, transport_spec: TransportFactory
) -> None:
    fake_plugin(
        "confused",
        distribution="liveloop-confused",
        providers=[transport_spec("fakeprov", "faketrans")],
    )

    with pytest.raises(PluginError) as caught:
        liveloop.capabilities(manager)

    message = str(caught.value)
    assert "'confused'" in message
    assert "liveloop-confused" in message
    assert "registered TransportSpec, expected ProviderSpec" in message


@pytest.mark.parametrize("wrong", ["openai", {"name": "openai"}, None])
def test_transport_hook_registering_something_else_is_a_plugin_error(
    manager: PluginManager, fake_plugin: FakePluginFactory, wrong: object
) -> None:
    fake_plugin("confused", transports=[wrong])

    with pytest.raises(PluginError, match=r"'confused'.*expected TransportSpec"):
        manager.transports()


def test_a_claimed_format_the_codec_lacks_is_an_error_naming_it(
    manager: PluginManager,
    fake_plugin: FakePluginFactory,
    provider_spec: ProviderFactory,
    transport_spec: TransportFactory,
) -> None:
    # The intersection would drop "g711_alaw" silently: registration refuses instead.
    fake_plugin("prov", providers=[provider_spec("fakeprov", Features(audio_formats=("pcm16",)))])
    claims = Features(audio_formats=("pcm16", "g711_alaw"))
    fake_plugin("trans", transports=[transport_spec("fakeprov", "lossy", claims)])

    with pytest.raises(PluginError, match=r"fakeprov/lossy .*claims audio format\(s\) g711_alaw"):
        liveloop.capabilities(manager)
