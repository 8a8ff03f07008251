"""Token-aware rate limits: GCRA buckets kept in process memory or shared through Redis."""
