"""Operations: readiness (``/readyz``), the Prometheus scrape (``/metrics``) and the database
gauges it reads. May import every package; nothing imports it but ``app.py``."""
