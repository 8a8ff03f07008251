"""Token-aware rate limits (config `ratelimits`): an offline estimate of a request's prompt
tokens (`estimate`), GCRA buckets kept in process memory or shared through Redis (`gcra`,
`store`), and which buckets a request draws on (`limiter`)."""
