"""liveloop: live realtime sessions with speech-to-speech models."""
