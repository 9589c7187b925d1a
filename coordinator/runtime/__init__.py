"""The coordinator process: configuration and the serve loop."""
