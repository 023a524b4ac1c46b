"""The bare DRF peer of the POS single-receipt POST, for ``bench/pos_load.py`` only.

Not part of the product: ``bench.pos_peer.settings`` extends ``satisfaction.settings`` with this
app and its URL, and only the bench's second gunicorn loads it. Its one table is created by the
bench (``schema_editor``), it has no migrations.
"""
