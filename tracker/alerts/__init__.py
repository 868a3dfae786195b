"""Alerts: rules on the series, evaluated after each round, delivered through Apprise.

    rules.py       the `[[alerts]]` model and its checks (the config loads it)
    conditions.py  pure: whether a rule's condition holds on a series' points
    evaluate.py    the store and the clock in, episodes and due alerts out (the outbox)
    deliver.py     the outbox to Apprise: rate limit per destination, bounded retries, log
    destination.py the Apprise URL read like a credential, its secret parts masked

One alert per (rule, series, episode): a condition that stays true does not alert again,
and hysteresis keeps a value hovering at the line from opening new episodes.
"""
