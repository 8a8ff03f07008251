"""Where and how each provider is called: its endpoint, cluster and paths."""
