"""The phone line of a session serving a call: its control and its DTMF turns."""

from __future__ import annotations

from ..calls import CallControl, DtmfTurns, PhoneCall
from ..errors import LiveloopError
from ..events import Dtmf, UserTurn
from ..turns import SessionTurn
from .bus import EventBus
from .context import Context
from .inbox import TurnInbox


class PhoneLine:
    """The call a session serves (if any): transfer and hang-up go through its control;
    key presses become turns when ``dtmf_turns`` is on."""

    def __init__(self, ctx: Context, bus: EventBus, inbox: TurnInbox) -> None:
        self._ctx = ctx
        self._inbox = inbox
        self.call: PhoneCall | None = None
        self._control: CallControl | None = None
        self._dtmf = DtmfTurns(ctx.config.dtmf_pause_ms, self._dtmf_turn)
        bus.publish_first(Dtmf)
        bus.on(Dtmf, self._on_dtmf)

    def attach(self, call: PhoneCall, control: CallControl) -> None:
        self.call = call
        self._control = control
        if call.call_id is not None:
            self._ctx.log["call_id"] = call.call_id

    def control(self, method: str) -> CallControl:
        if self._control is None:
            raise LiveloopError(f"{method}() needs a phone call; this session is not serving one")
        return self._control

    def _on_dtmf(self, event: Dtmf) -> None:
        if self._ctx.config.dtmf_turns:
            self._dtmf.add(event.digit)

    def _dtmf_turn(self, digits: str) -> None:
        if not self._ctx.closed:
            self._inbox.add(UserTurn(turn=SessionTurn(text=digits, channel="dtmf")))

    def close(self) -> None:
        self._dtmf.cancel()
