"""Mail coming in: fetch, archive, parse, classify, thread, record."""
