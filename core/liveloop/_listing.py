"""What ``liveloop capabilities`` and ``liveloop plugins`` print, without click.

The listing commands are what people run first and what scripts parse: they import no
command-line library, event loop or model (see :mod:`liveloop.cli`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .matrix import capabilities
from .plugins import get_plugin_manager

_FEATURE_COLUMNS = (
    ("audio_in", "audio in"),
    ("audio_out", "audio out"),
    ("text", "text"),
    ("server_vad", "server vad"),
    ("semantic_vad", "semantic vad"),
    ("tools", "tools"),
    ("verbatim_say", "say"),
    ("sideband", "sideband"),
)


def plugins_text(as_json: bool) -> str:
    """The installed plugins, the hooks they implement, and load errors."""
    infos = get_plugin_manager().plugins()
    if as_json:
        return json.dumps([info.as_dict() for info in infos], indent=2)
    if not infos:
        return "No plugins installed."
    rows = [
        [info.name, info.distribution, info.version, ", ".join(info.hooks) or "-"]
        if info.error is None
        else [info.name, info.distribution, info.version, f"ERROR {info.error}"]
        for info in infos
    ]
    return table(["plugin", "distribution", "version", "hooks"], rows)


def capabilities_text(as_json: bool) -> str:
    """The provider/transport pairs the installed plugins implement."""
    rows = capabilities()
    if as_json:
        return json.dumps([row.as_dict() for row in rows], indent=2)
    if not rows:
        return (
            "No provider/transport pairs installed: install a provider plugin and a "
            "transport plugin for it (`liveloop plugins` lists what is installed)."
        )
    lines = []
    for row in rows:
        flags = row.features
        enabled = [label for name, label in _FEATURE_COLUMNS if getattr(flags, name)]
        if flags.interruption != "none":
            enabled.append(f"barge-in ({flags.interruption.replace('_', ' ')})")
        lines.append(
            [
                f"{row.provider}/{row.transport}",
                f"{row.plugin} {row.version}",
                flags.media,
                ", ".join(flags.audio_formats) or "-",
                ", ".join(enabled),
            ]
        )
    return table(["pair", "plugin", "media", "formats", "features"], lines)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns under a header and a rule of dashes."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, ["-" * width for width in widths], *rows]
    ]
    return "\n".join(lines)
