"""Push webhooks from GitHub and GitLab, verified in constant time, that enqueue a sync."""
