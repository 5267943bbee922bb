"""The session runtime's components, each with one job (see CONTRIBUTING.md, "Data flow").

:class:`liveloop.Session` is a facade over these: the link (connection, codec, the one
outbox and send path, read/write loops), recovery, responses, playback, the tool runner,
the input recorder and the turn inbox. Normalized events reach them through one
type -> handler table (:class:`~liveloop._runtime.bus.EventBus`).
"""
