"""liveloop transport plugin: OpenAI Realtime over WebSocket."""
