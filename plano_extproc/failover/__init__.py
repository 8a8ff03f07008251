"""Failover: which model each attempt of a request goes to (`retry_policy`), and the blocks
(Retry-After, high latency) that make new requests skip a model for a while."""
