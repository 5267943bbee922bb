"""liveloop's OpenAI Realtime WebRTC transports: a Python peer, and a sideband for browser calls."""
