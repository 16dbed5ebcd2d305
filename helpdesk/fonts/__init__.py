"""The fonts the invoice PDFs are set in: DejaVu Sans and DejaVu Sans Bold (see README.txt and LICENSE)."""
