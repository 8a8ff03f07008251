"""OpenAI Chat Completions, as the client's API and as an upstream's."""
