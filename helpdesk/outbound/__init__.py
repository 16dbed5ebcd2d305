"""Mail going out: render templates, compose MIME, queue durably, send over SMTP."""
