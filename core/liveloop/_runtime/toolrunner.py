"""The tool runner: every function call the model makes is answered exactly once, and
the model is asked to go on once a response's calls are all answered.

A call still running (or answered but not yet sent) when the connection is replaced
belongs to a conversation the new connection does not know: the call and its output are
restored there as conversation items, followed by one response, so the user hears the
result. A call is never run twice. A call the provider withdraws (the user spoke over
it) is cancelled if it still runs, and answered by nothing.
"""

from __future__ import annotations

import asyncio

from ..actions import Action, CreateResponse, RestoreToolCall, SendToolOutput
from ..events import ErrorEvent, ResponseDone, ToolCall, ToolCallCancelled, ToolResult
from ..log import bind_context, get_logger
from ..speech import Speech
from ..tools import Tool, unknown_tool
from .bus import EventBus
from .context import Context
from .link import Link
from .responses import Responses

_log = get_logger("liveloop.session")


class ToolRunner:
    """Runs the session's tools for the model's calls."""

    def __init__(
        self,
        ctx: Context,
        link: Link,
        bus: EventBus,
        responses: Responses,
        tools: dict[str, Tool],
    ) -> None:
        self.tools = tools
        self._ctx = ctx
        self._link = link
        self._responses = responses
        self._calls: dict[str, ToolCall] = {}  # every call seen, by call id
        self._running: dict[str, str] = {}  # call id -> tool name
        self._tasks: dict[str, asyncio.Task[None]] = {}  # call id -> the running tool
        self._answered: set[str] = set()
        self._by_response: dict[str, set[str]] = {}
        self._done_responses: set[str] = set()
        # Calls of a replaced connection: their outputs go back as context, then one
        # response follows once all of them are answered.
        self._orphaned: set[str] = set()
        self._orphans_speech: Speech | None = None
        bus.on(ToolCall, self._on_call)
        bus.on(ResponseDone, self._on_response_done)
        bus.on(ToolCallCancelled, self._on_cancelled)

    def _on_call(self, event: ToolCall) -> None:
        if event.call_id in self._calls:
            return  # exactly once, even if the provider repeats itself
        self._calls[event.call_id] = event
        self._running[event.call_id] = event.name
        if event.response_id is not None:
            self._by_response.setdefault(event.response_id, set()).add(event.call_id)
        task = self._ctx.tasks.spawn(self._answer(event), f"tool-{event.name}")
        self._tasks[event.call_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(event.call_id, None))

    def _on_cancelled(self, event: ToolCallCancelled) -> None:
        for call_id in event.call_ids:
            task = self._tasks.pop(call_id, None)
            if task is not None:
                task.cancel()  # the model wants no answer: none is sent
                _log.info("tool call withdrawn", **self._ctx.log, tool_call_id=call_id)
            self._running.pop(call_id, None)
            self._orphaned.discard(call_id)
            for response_id, calls in list(self._by_response.items()):
                calls.discard(call_id)
                if not calls:
                    del self._by_response[response_id]
                    self._done_responses.discard(response_id)

    async def _answer(self, event: ToolCall) -> None:
        # The function call id has a key of its own: `call_id` names a sideband's WebRTC call.
        with bind_context(**self._ctx.log, tool_call_id=event.call_id):
            tool = self.tools.get(event.name)
            if tool is None:
                outcome = unknown_tool(event.name, self.tools)
            else:
                outcome = await tool.run(event.arguments, timeout=self._ctx.config.tool_timeout)
            if self._ctx.closed or self._running.pop(event.call_id, None) is None:
                return  # closed, or the call was withdrawn meanwhile
            output = SendToolOutput(call_id=event.call_id, output=outcome.output)
            orphaned = event.call_id in self._orphaned
            self._link.send(self._restored(output) if orphaned else output)
            self._ctx.metrics.tool_calls += 1
            self._ctx.publish(
                ToolResult(
                    call_id=event.call_id,
                    name=event.name,
                    output=outcome.output,
                    is_error=outcome.is_error,
                )
            )
            _log.info("tool answered", **self._ctx.log, tool=event.name, error=outcome.is_error)
            if orphaned:
                self._orphaned.discard(event.call_id)
                self._follow_orphans()
            elif event.response_id is None:
                self._responses.request(CreateResponse(), "tool_followup")
            else:
                self._answered.add(event.call_id)
                self._maybe_follow_up(event.response_id)

    def _on_response_done(self, event: ResponseDone) -> None:
        if event.response_id in self._by_response:
            self._done_responses.add(event.response_id)
            self._maybe_follow_up(event.response_id)

    def _maybe_follow_up(self, response_id: str) -> None:
        # After every call of a response is answered (and the response is done), ask for the
        # next response so the model speaks the result instead of waiting for the user.
        calls = self._by_response.get(response_id)
        if not calls or response_id not in self._done_responses:
            return
        if not calls <= self._answered:
            return
        del self._by_response[response_id]
        self._done_responses.discard(response_id)
        self._answered -= calls
        speech = self._responses.take_held(response_id)
        self._responses.request(CreateResponse(), "tool_followup", speech)

    def _follow_orphans(self) -> None:
        if not self._orphaned:
            speech, self._orphans_speech = self._orphans_speech, None
            self._responses.request(CreateResponse(), "tool_followup", speech)

    def _restored(self, output: SendToolOutput) -> Action:
        # The call belonged to a connection that is gone: the new one gets the call and its
        # output as conversation items.
        call = self._calls[output.call_id]
        self._ctx.publish(
            ErrorEvent(
                code="tool_output_restored",
                message=f"the output of {call.name} ({call.call_id}) was restored with its call"
                " because the connection was replaced",
            )
        )
        return RestoreToolCall(
            call_id=call.call_id, name=call.name, arguments=call.arguments, output=output.output
        )

    def forget_link(self) -> None:
        """The connection was replaced: calls still running, and outputs not yet sent,
        go back as context on the new one, followed by one response."""
        running = set(self._running)
        restored = 0

        def rewrite(action: Action) -> Action:
            nonlocal restored
            if isinstance(action, SendToolOutput):
                restored += 1
                return self._restored(action)
            return action

        self._link.rewrite(rewrite)
        self._orphaned |= running
        for response_id, calls in list(self._by_response.items()):
            if calls & self._orphaned:
                # A respond() waiting for this response's follow-up gets the new one.
                held = self._responses.take_held(response_id)
                if held is not None and self._orphans_speech is None:
                    self._orphans_speech = held
                elif held is not None:
                    held._finish("interrupted")
            calls -= self._orphaned
            if not calls:
                del self._by_response[response_id]
                self._done_responses.discard(response_id)
        if restored and not self._orphaned:
            self._follow_orphans()

    def fail_all(self, reason: BaseException) -> None:
        if self._orphans_speech is not None:
            self._orphans_speech._fail(reason)
            self._orphans_speech = None

    def cancel(self, speech: Speech) -> bool:
        """Drop a speech waiting for the reply after restored tool outputs."""
        if speech is not self._orphans_speech:
            return False
        self._orphans_speech = None
        speech._finish("cancelled")
        return True
