"""liveloop's pytest plugin as a user meets it: child pytest runs (pytester, subprocess) in
a fresh project that only has ``liveloop`` installed, its ``pytest11`` entry point and
pytest-asyncio in auto mode."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.timeout(300)  # child pytest runs, each bounded by CHILD_TIMEOUT

RunChild = Callable[..., pytest.RunResult]

TOOL_MODULE = """
    import pytest

    import liveloop
    from liveloop.testing import ToolLog
    from liveloop_emulator import Rule

    WEATHER = Rule(match="weather", tool="lookup_weather", arguments={"city": "Paris"})


    def lookup_weather(city: str) -> dict:
        \"\"\"Look up today's weather in a city.\"\"\"
        return {"city": city, "sky": "sunny"}


    @pytest.mark.liveloop_emulator(script=[WEATHER])
    async def test_the_tool_is_answered_once(liveloop_options):
        async with liveloop.connect(**liveloop_options, tools=[lookup_weather]) as session:
            log = ToolLog(session)
            await session.send_text("what is the weather in paris")
            await log.wait_for_results(1)
            result = log.assert_called("lookup_weather", city="Paris")
            assert result.output == '{"city": "Paris", "sky": "sunny"}'
            assert not result.is_error
"""


def test_a_handler_test_in_ten_lines_passes(project: pytest.Pytester, run_child: RunChild) -> None:
    project.makepyfile(
        test_greeting="""
        import liveloop
        from liveloop.testing import Heard, speak


        async def test_greeting(liveloop_options):
            async with liveloop.connect(**liveloop_options) as session:
                heard = Heard(session)
                await speak(session, "hello there")
                turn = await session.input()
                assert turn.text == "hello there"
                assert await heard.wait_for("you said: hello there")
        """
    )
    result = run_child("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*test_greeting.py::test_greeting PASSED*"])


def test_the_marker_scripts_a_tool_call(project: pytest.Pytester, run_child: RunChild) -> None:
    project.makepyfile(test_tool=TOOL_MODULE)
    result = run_child("-v")
    result.assert_outcomes(passed=1)


def test_assert_called_failures_say_what_happened(
    project: pytest.Pytester, run_child: RunChild
) -> None:
    project.makepyfile(
        test_tool=TOOL_MODULE
        + """

    @pytest.mark.liveloop_emulator(script=[WEATHER])
    async def test_another_tool_expected(liveloop_options):
        async with liveloop.connect(**liveloop_options, tools=[lookup_weather]) as session:
            log = ToolLog(session)
            await session.send_text("what is the weather in paris")
            await log.wait_for_results(1)
            log.assert_called("book_table")


    @pytest.mark.liveloop_emulator(script=[WEATHER])
    async def test_other_arguments_expected(liveloop_options):
        async with liveloop.connect(**liveloop_options, tools=[lookup_weather]) as session:
            log = ToolLog(session)
            await session.send_text("what is the weather in paris")
            await log.wait_for_results(1)
            log.assert_called("lookup_weather", city="Rome")


    async def test_no_result_in_time(liveloop_options):
        async with liveloop.connect(**liveloop_options, tools=[lookup_weather]) as session:
            log = ToolLog(session)
            await session.send_text("hello")
            await log.wait_for_results(1, timeout=1.0)
    """
    )
    result = run_child("-v")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: tool 'book_table' was not called (calls made: lookup_weather)",
            "*AssertionError: tool 'lookup_weather' was called with {'city': 'Paris'}, "
            "not {'city': 'Rome'}",
            "*AssertionError: timed out after 1.0 s waiting for 1 tool results; no tool was called",
        ],
        consecutive=False,
    )


def test_emulator_options_can_be_overridden(project: pytest.Pytester, run_child: RunChild) -> None:
    project.makeconftest(
        """
        import pytest


        @pytest.fixture
        def liveloop_emulator_options():
            return {"speed": 8.0, "api_keys": ["sk-project-key"], "chunk_ms": 20}
        """
    )
    project.makepyfile(
        test_options="""
        import pytest

        import liveloop


        def test_the_override_reaches_the_emulator(liveloop_emulator, liveloop_options):
            assert liveloop_emulator.emulator.speed == 8.0
            assert liveloop_emulator.emulator.chunk_ms == 20
            assert liveloop_options["api_key"] == "sk-project-key"


        @pytest.mark.liveloop_emulator(speed=2.0)
        def test_the_marker_wins_over_the_fixture(liveloop_emulator):
            assert liveloop_emulator.emulator.speed == 2.0
            assert liveloop_emulator.emulator.chunk_ms == 20


        async def test_only_the_configured_key_connects(liveloop_options):
            async with liveloop.connect(**liveloop_options) as session:
                await session.send_text("hello")
                assert (await session.input()).text == "hello"
            with pytest.raises(liveloop.ProviderError):
                await liveloop.open_session(**{**liveloop_options, "api_key": "sk-other"})
        """
    )
    result = run_child("-v")
    result.assert_outcomes(passed=3)


def test_the_fixtures_work_in_a_sync_test(project: pytest.Pytester, run_child: RunChild) -> None:
    project.makepyfile(
        test_sync="""
        import asyncio

        import liveloop
        from liveloop.testing import Heard


        def test_say_in_a_sync_test(liveloop_options):
            async def main():
                options = {**liveloop_options, "auto_respond": False}
                async with liveloop.connect(**options) as session:
                    heard = Heard(session)
                    await session.say("your table is ready").wait(10)
                    return await heard.wait_for_lines(1)

            assert asyncio.run(main()) == ["your table is ready"]


        def test_twice_in_a_row(liveloop_options):
            async def main():
                async with liveloop.connect(**liveloop_options) as session:
                    await session.send_text("hi")
                    return (await session.input()).text

            assert asyncio.run(main()) == "hi"
            assert asyncio.run(main()) == "hi"
        """
    )
    result = run_child("-v")
    result.assert_outcomes(passed=2)


def test_the_plugin_does_not_import_the_emulator_until_used(
    project: pytest.Pytester, run_child: RunChild
) -> None:
    project.makepyfile(
        test_lazy="""
        import sys


        def test_loaded_but_lazy(request):
            assert request.config.pluginmanager.hasplugin("liveloop")
            assert "liveloop.testing.plugin" in sys.modules
            assert "liveloop_emulator" not in sys.modules
            assert "uvicorn" not in sys.modules


        def test_imported_on_first_use(liveloop_emulator):
            assert "liveloop_emulator" in sys.modules
        """
    )
    result = run_child("-v")
    result.assert_outcomes(passed=2)


def test_the_marker_and_option_are_documented(
    project: pytest.Pytester, run_child: RunChild
) -> None:
    result = run_child("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.liveloop_emulator(**options):*"])
    help_result = run_child("--help")
    help_result.stdout.fnmatch_lines(["*--liveloop-conformance=PROVIDER/TRANSPORT*"])


def test_observer_timeouts_say_what_was_heard_and_called(
    project: pytest.Pytester, run_child: RunChild
) -> None:
    project.makepyfile(
        test_heard=TOOL_MODULE
        + """

    from liveloop.testing import Heard, speak


    async def test_other_words_expected(liveloop_options):
        async with liveloop.connect(**liveloop_options) as session:
            heard = Heard(session)
            await speak(session, "hello there")
            await heard.wait_for("goodbye", timeout=3.0)


    async def test_nothing_heard(liveloop_options):
        async with liveloop.connect(**liveloop_options, auto_respond=False) as session:
            await Heard(session).wait_for_lines(1, timeout=0.5)


    @pytest.mark.liveloop_emulator(script=[WEATHER])
    async def test_more_results_expected(liveloop_options):
        async with liveloop.connect(**liveloop_options, tools=[lookup_weather]) as session:
            log = ToolLog(session)
            await session.send_text("what is the weather in paris")
            await log.wait_for_results(2, timeout=2.0)
"""
    )
    result = run_child("-v", "-k", "expected or nothing")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: timed out after 3.0 s waiting for the assistant to say 'goodbye';"
            " heard 1 line(s): 'you said: hello there'",
            "*AssertionError: timed out after 0.5 s waiting for 1 assistant lines;"
            " no assistant audio was heard",
            "*AssertionError: timed out after 2.0 s waiting for 2 tool results; calls made:"
            ' lookup_weather({"city": "Paris"}) -> {"city": "Paris", "sky": "sunny"}',
        ],
        consecutive=False,
    )
