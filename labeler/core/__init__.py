"""The domain and its storage: pure Python, no Qt, no torch."""
