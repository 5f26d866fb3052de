"""Live webcam: frame processing, statistics, WebRTC configuration."""
