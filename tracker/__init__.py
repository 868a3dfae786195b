"""tracker: measure launch claims — follower counts, hashtag totals, chart positions."""

__version__ = "0.1.0"
