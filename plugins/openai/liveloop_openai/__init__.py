"""liveloop provider plugin for OpenAI Realtime."""
