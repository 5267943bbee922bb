"""liveloop's Twilio Media Streams bridge: phone calls to any provider session, through
``liveloop serve``."""
