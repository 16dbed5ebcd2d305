"""What the helpdesk decides: rules, business time, events and the actions they call."""
