"""One processor per ext_proc filter kind, each with a method per phase it expects:
`routing` (request headers, then the buffered body), `translating` (response headers, then body
chunks) and `attempt` (one stream per upstream attempt of a request with a retry_policy).
`extproc/service.py` picks the processor for each stream in one place."""
