"""The owner's side: who is the owner (tokens, authentication) and what their replies ask."""
