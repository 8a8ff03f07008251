"""Arch-Router, Plano's routing model: its prompt contract and the clients that ask it (an
OpenAI-compatible server, or Triton with Qwen's chat template rendered here)."""
