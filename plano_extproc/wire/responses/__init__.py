"""OpenAI Responses, as the client's API (an upstream speaking it needs no translation)."""
