"""alertwire: runtime-security alerts to the webhooks that must act on them."""

__version__ = "0.1.0"
