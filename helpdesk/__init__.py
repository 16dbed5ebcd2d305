"""helpdesk: an email-centric helpdesk daemon for one-person businesses."""

__version__ = "0.1.0"
