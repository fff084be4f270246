"""What a sweep's evaluations mean: statistics over episodes, and the decisions taken on them."""
