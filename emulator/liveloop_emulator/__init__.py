"""OpenAI-Realtime-compatible local emulator with a deterministic model."""
