"""The distributed mode: dispatchers and workers on Dramatiq + RabbitMQ, PostgreSQL the truth.

    messages.py   the broker (its URL, masked), the queue, a slot's part as a message
    dispatch.py   `tracker dispatch`: APScheduler ticks, due slots claimed once, parts sent
    worker.py     `tracker worker`: Dramatiq runs each part through the round machinery

The embedded daemon (`tracker run`) stays the default; this mode is opt-in and needs
PostgreSQL (the slots are claimed with row locks) and a broker (TRACKER_BROKER_URL).
"""

from __future__ import annotations
