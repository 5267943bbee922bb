"""Tone speech: a deterministic text <-> audio codec.

The emulator has no real speech model. Instead, text is "spoken" as a sequence of dual tones, one
per symbol (like DTMF), and "heard" by decoding those tones back into text. Tests can therefore
assert on exactly what a user would hear, even after the audio went through Opus at 48 kHz,
resampling, noise or chunking. See ``docs/tone-speech.md`` for the full description.

Wire format (for every sample rate):

- PCM16, mono, little-endian.
- The audio of a text is one sync slot followed by one slot per symbol of ``sanitize(text)``;
  there is no gap between slots and a space is a tone like any other symbol, so the audio has no
  internal pause.
- Each slot lasts ``SYMBOL_MS`` (60 ms) and carries the sum of one frequency of ``LOW_HZ`` and one
  of ``HIGH_HZ``, each at amplitude ``TONE_AMPLITUDE``, with raised-cosine ramps of ``RAMP_MS`` at
  both ends of the slot, over a fixed pseudo-random noise floor ``NOISE_DB`` below the tones.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

__all__ = [
    "ALPHABET",
    "HIGH_HZ",
    "LOW_HZ",
    "MIN_CONFIDENCE",
    "NOISE_DB",
    "RAMP_MS",
    "SYMBOL_MS",
    "SYNC_SLOTS",
    "TONE_AMPLITUDE",
    "DecodeResult",
    "decode",
    "decode_result",
    "duration_ms",
    "encode",
    "played_text",
    "played_words",
    "sanitize",
]

FloatArray = npt.NDArray[np.float64]

#: Supported symbols: a-z, 0-9, space and 12 punctuation marks (49 symbols in all).
ALPHABET: str = "abcdefghijklmnopqrstuvwxyz0123456789 .,?!'-:;\"()/"

#: Duration of one symbol slot (and of the sync slot), in milliseconds: 16.7 symbols per second.
SYMBOL_MS: int = 60
#: Raised-cosine fade in and fade out at both ends of every slot, in milliseconds.
RAMP_MS: int = 5
#: Number of sync slots that start every encoded text.
SYNC_SLOTS: int = 1
#: Peak amplitude of each of the two tones of a slot (full scale = 1.0); RMS is about -9.6 dBFS.
TONE_AMPLITUDE: float = 0.35
#: Level of the fixed pseudo-random noise floor under the tones, relative to ``TONE_AMPLITUDE``.
#: Pure tones make Opus' SILK/hybrid modes (at 24-48 kbit/s) go unstable; a faint noise floor
#: keeps its linear prediction well-conditioned. The noise is the same on every run.
NOISE_DB: float = -30.0

#: The low ("row") group: 7 frequencies in Hz.
LOW_HZ: tuple[float, ...] = (400.0, 550.0, 700.0, 850.0, 1000.0, 1150.0, 1300.0)
#: The high ("column") group: 8 frequencies in Hz.
HIGH_HZ: tuple[float, ...] = (1550.0, 1800.0, 2050.0, 2300.0, 2550.0, 2800.0, 3050.0, 3300.0)

#: Below this confidence, audio is "not tone speech" (a microphone, noise, music...).
MIN_CONFIDENCE: float = 0.6

# The symbol with index i is the pair (LOW_HZ[i // 8], HIGH_HZ[i % 8]); the sync slot is pair
# index 49 (LOW_HZ[6], HIGH_HZ[1]); pairs 50..55 are unused.
_N_HIGH = len(HIGH_HZ)
_SYNC_PAIR = len(ALPHABET)
_PAIR_OF: dict[str, int] = {ch: i for i, ch in enumerate(ALPHABET)}

# Decoder tuning.
_SILENCE_RMS = 10 ** (-60 / 20)  # below -60 dBFS nothing is considered audio at all
_REGION_REL_ENERGY = 0.1  # a region is where the 10 ms energy is within 10 dB of the peak
_REGION_MERGE_MS = 30  # gaps shorter than this inside a region are symbol boundaries
_SLOT_REL_ENERGY = 0.3  # a slot carries a symbol if its energy is >= 30% of the region median
_ALIGN_COARSE_MS = 12  # the slot grid is searched +-12 ms around the detected onset
_ALIGN_SLOTS = 24  # the grid is found on the region's first slots: it is regular after that
_ANALYSIS_MARGIN_MS = RAMP_MS + 1  # analysis window skips the ramps plus 1 ms of slack

_QUOTES = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u2032": "'",
    "`": "'",
    "\u00b4": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
    "\\": "/",
}
_ALPHABET_SET = frozenset(ALPHABET)


@dataclass(frozen=True)
class DecodeResult:
    """Decoded text and how much the audio looks like tone speech at all (0..1)."""

    text: str
    confidence: float


def sanitize(text: str) -> str:
    """Map ``text`` onto ``ALPHABET``: the text that ``decode(encode(text))`` returns.

    Rules, in order: Unicode compatibility decomposition (NFKD) and case folding, so that
    accented letters become their base letter and ``ß`` becomes ``ss``; combining marks are
    dropped; typographic quotes and dashes, brackets and backslash map to their ASCII
    counterparts in the alphabet (and ``…`` to ``...``); any whitespace becomes one space
    each (nothing is collapsed); every other character is dropped.
    """
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    out: list[str] = []
    for ch in decomposed:
        if ch in _ALPHABET_SET:
            out.append(ch)
        elif unicodedata.combining(ch):
            continue
        elif ch in _QUOTES:
            out.append(_QUOTES[ch])
        elif ch.isspace():
            out.append(" ")
    return "".join(out)


def _slot_samples(sample_rate: int) -> int:
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    return round(sample_rate * SYMBOL_MS / 1000)


@functools.lru_cache(maxsize=8)
def _pair_waveforms(sample_rate: int) -> FloatArray:
    """One slot of audio per pair index: shape (len(LOW_HZ) * len(HIGH_HZ), slot samples)."""
    n = _slot_samples(sample_rate)
    t = np.arange(n) / sample_rate
    ramp_n = max(1, round(sample_rate * RAMP_MS / 1000))
    envelope = np.ones(n)
    fade = 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp_n) + 0.5) / ramp_n)
    envelope[:ramp_n] = fade
    envelope[n - ramp_n :] = fade[::-1]
    low = np.sin(2 * np.pi * np.outer(LOW_HZ, t))
    high = np.sin(2 * np.pi * np.outer(HIGH_HZ, t))
    pairs = TONE_AMPLITUDE * (low[:, None, :] + high[None, :, :]) * envelope
    pairs = pairs.reshape(len(LOW_HZ) * _N_HIGH, n)
    noise = _fixed_noise(pairs.size).reshape(pairs.shape)
    result: FloatArray = pairs + TONE_AMPLITUDE * 10 ** (NOISE_DB / 20) * noise
    return result


def _fixed_noise(n: int) -> FloatArray:
    """Unit-variance white noise that never changes: splitmix64 of the sample index."""
    with np.errstate(over="ignore"):
        z = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    uniform = (z >> np.uint64(11)).astype(np.float64) / float(2**53)  # [0, 1)
    result: FloatArray = (uniform - 0.5) * np.sqrt(12.0)
    return result


def encode(text: str, sample_rate: int = 24000) -> bytes:
    """Speak ``sanitize(text)`` as tone speech: PCM16 mono little-endian at ``sample_rate``.

    Text that sanitizes to nothing gives ``b""``.
    """
    clean = sanitize(text)
    if not clean:
        return b""
    pairs = [_SYNC_PAIR] * SYNC_SLOTS + [_PAIR_OF[ch] for ch in clean]
    wave = _pair_waveforms(sample_rate)[pairs].reshape(-1)
    return np.round(wave * 32767).astype("<i2").tobytes()


def duration_ms(text: str, sample_rate: int = 24000) -> int:
    """Length of ``encode(text, sample_rate)`` in milliseconds (rounded)."""
    n = len(sanitize(text))
    if n == 0:
        return 0
    return round((n + SYNC_SLOTS) * _slot_samples(sample_rate) * 1000 / sample_rate)


def played_text(text: str, audio_ms: float) -> str:
    """The prefix of ``sanitize(text)`` whose symbols lie entirely in the first ``audio_ms``.

    This is what a listener heard when playback of ``encode(text)`` was cut after ``audio_ms``.
    """
    clean = sanitize(text)
    slots = int(max(0.0, audio_ms) // SYMBOL_MS) - SYNC_SLOTS
    return clean[: max(0, min(len(clean), slots))]


def played_words(text: str, audio_ms: float) -> str:
    """Like :func:`played_text`, cut back to the last whole word, without trailing spaces."""
    clean = sanitize(text)
    heard = played_text(text, audio_ms)
    if len(heard) < len(clean) and not heard.endswith(" ") and clean[len(heard)] != " ":
        heard = heard[: heard.rfind(" ") + 1]  # rfind -1 -> "" when no whole word was heard
    return heard.rstrip(" ")


# ------------------------------------------------------------------------------------ decoding


@dataclass(frozen=True)
class _Analyzer:
    """Per-sample-rate constants of the decoder."""

    slot: int
    offset: int  # first analysed sample inside a slot
    window: FloatArray  # Hann window over the analysed part of a slot
    basis: FloatArray  # (window length, 2 * number of tones): windowed cos | sin columns
    tone_scale: float  # |X|^2 * tone_scale = energy of the windowed tone


@functools.lru_cache(maxsize=8)
def _analyzer(sample_rate: int) -> _Analyzer:
    slot = _slot_samples(sample_rate)
    margin = round(sample_rate * _ANALYSIS_MARGIN_MS / 1000)
    length = slot - 2 * margin
    window = np.hanning(length + 2)[1:-1]
    freqs = np.array(LOW_HZ + HIGH_HZ)
    t = (np.arange(length) + margin) / sample_rate
    phase = 2 * np.pi * np.outer(t, freqs)
    basis = np.concatenate([np.cos(phase), np.sin(phase)], axis=1) * window[:, None]
    tone_scale = 2 * float(np.sum(window**2)) / float(np.sum(window)) ** 2
    return _Analyzer(slot, margin, window, basis, tone_scale)


@dataclass(frozen=True)
class _Slots:
    total: FloatArray  # windowed energy of each slot
    low: FloatArray  # (slots, len(LOW_HZ)) tone energies
    high: FloatArray  # (slots, len(HIGH_HZ)) tone energies


def _analyse(x: FloatArray, starts: npt.NDArray[np.int64], an: _Analyzer) -> _Slots:
    """Tone energies of the slots beginning at ``starts`` (``x`` is zero outside its bounds)."""
    length = an.window.size
    idx = starts[:, None] + an.offset + np.arange(length)[None, :]
    valid = (idx >= 0) & (idx < x.size)
    frames = np.where(valid, x[np.clip(idx, 0, x.size - 1)], 0.0)
    total = np.sum((frames * an.window) ** 2, axis=1)
    proj = frames @ an.basis
    n_tones = len(LOW_HZ) + _N_HIGH
    energy = (proj[:, :n_tones] ** 2 + proj[:, n_tones:] ** 2) * an.tone_scale
    return _Slots(total, energy[:, : len(LOW_HZ)], energy[:, len(LOW_HZ) :])


def _captured(slots: _Slots) -> float:
    return float(np.sum(slots.low.max(axis=1) + slots.high.max(axis=1)))


def _purity(slots: _Slots) -> FloatArray:
    """Share of each slot's energy in its strongest low and high tone, penalising imbalance."""
    lo = slots.low.max(axis=1)
    hi = slots.high.max(axis=1)
    share = np.minimum(1.0, (lo + hi) / np.maximum(slots.total, 1e-20))
    balance = np.minimum(1.0, 4 * np.minimum(lo, hi) / np.maximum(np.maximum(lo, hi), 1e-20))
    result: FloatArray = share * balance
    return result


def _regions(x: FloatArray, sample_rate: int) -> list[tuple[int, int]]:
    """Sample ranges that hold sound: 10 ms energy within 10 dB of the loudest 10 ms."""
    win = max(1, round(sample_rate * 0.010))
    if x.size < win:
        return []
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    energy = (csum[win:] - csum[:-win]) / win  # energy[i] covers x[i : i + win]
    peak = float(energy.max())
    if peak < _SILENCE_RMS**2:
        return []
    active = energy >= max(_SILENCE_RMS**2, _REGION_REL_ENERGY * peak)
    edges = np.flatnonzero(np.diff(active.astype(np.int8)))
    starts = list(edges[~active[edges]] + 1)
    ends = list(edges[active[edges]] + 1)
    if active[0]:
        starts.insert(0, 0)
    if active[-1]:
        ends.append(active.size)
    merge = round(sample_rate * _REGION_MERGE_MS / 1000)
    regions: list[tuple[int, int]] = []
    for s, e in zip(starts, ends, strict=True):
        # energy[i] turns on when the window x[i : i + win] starts to overlap the sound.
        s_sample, e_sample = int(s) + win // 2, int(e) + win // 2
        if regions and s_sample - regions[-1][1] < merge:
            regions[-1] = (regions[-1][0], e_sample)
        else:
            regions.append((s_sample, e_sample))
    min_len = _slot_samples(sample_rate) // 2
    return [(s, e) for s, e in regions if e - s >= min_len]


def _decode_region(
    x: FloatArray, start: int, end: int, sample_rate: int
) -> tuple[list[str], FloatArray]:
    an = _analyzer(sample_rate)
    slot = an.slot
    n = max(1, round((end - start) / slot))
    ms = sample_rate / 1000

    def grid(first: int) -> npt.NDArray[np.int64]:
        return first + slot * np.arange(min(n, _ALIGN_SLOTS), dtype=np.int64)

    # Find the slot grid: the alignment that captures the most tone energy.
    best, best_score = start, -1.0
    for step_ms, span_ms, centre in ((2.0, _ALIGN_COARSE_MS, start), (0.5, 1.5, None)):
        centre = best if centre is None else centre
        steps = int(span_ms / step_ms)
        for k in range(-steps, steps + 1):
            first = centre + round(k * step_ms * ms)
            score = _captured(_analyse(x, grid(first), an))
            if score > best_score:
                best, best_score = first, score
    # Analyse one extra slot on both sides in case the region estimate was off by a slot.
    starts = best + slot * np.arange(-1, n + 1, dtype=np.int64)
    slots = _analyse(x, starts, an)
    reference = float(np.median(slots.total[1:-1]))
    keep = slots.total >= _SLOT_REL_ENERGY * reference
    purity = _purity(slots)[keep]
    lo = np.argmax(slots.low, axis=1)[keep]
    hi = np.argmax(slots.high, axis=1)[keep]
    chars: list[str] = []
    for pair in (lo * _N_HIGH + hi).tolist():
        if pair < len(ALPHABET):
            chars.append(ALPHABET[pair])
        # the sync pair and unused pairs carry no text
    return chars, purity


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def decode_result(pcm: bytes, sample_rate: int = 24000) -> DecodeResult:
    """Decode tone speech in ``pcm`` (PCM16 mono LE) and say how much it looks like tone speech.

    Silence before, between and after utterances is ignored; consecutive utterances decode to
    the concatenation of their texts. ``confidence`` is the mean tone purity of the decoded
    slots: near 1 for tone speech, low for noise, music or a human voice. The text of audio
    below ``MIN_CONFIDENCE`` is meaningless.
    """
    usable = len(pcm) - len(pcm) % 2
    if usable == 0:
        return DecodeResult("", 0.0)
    x = np.frombuffer(pcm[:usable], dtype="<i2").astype(np.float64) / 32768.0
    chars: list[str] = []
    purities: list[FloatArray] = []
    # The products are small: BLAS threads would spin on the other cores for nothing (about
    # 2.5x the CPU of one thread), and the emulator, tests and the caller share those cores.
    with _blas().limit(limits=1, user_api="blas"):
        for start, end in _regions(x, sample_rate):
            region_chars, purity = _decode_region(x, start, end, sample_rate)
            chars.extend(region_chars)
            purities.append(purity)
    all_purity = np.concatenate(purities) if purities else np.zeros(0)
    confidence = float(np.mean(all_purity)) if all_purity.size else 0.0
    return DecodeResult("".join(chars), min(1.0, max(0.0, confidence)))


def decode(pcm: bytes, sample_rate: int = 24000) -> str:
    """The text spoken as tone speech in ``pcm`` (PCM16 mono LE); ``""`` for silence."""
    return decode_result(pcm, sample_rate).text
