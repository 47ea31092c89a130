"""Reconciliation's part of the REST API (``api``: statements, transactions, exceptions,
portal payments), its OpenAPI description (``openapi``, registered by ``app.py``) and the JSON
shapes (``serializers``)."""
