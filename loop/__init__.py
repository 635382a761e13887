"""The closed loop: offer editions and experiments, CRM responses, conversion and A/B results.

See ``loop/README.md``. Layering: ``flows`` imports ``loop``; ``loop`` imports ``warehouse``,
``intake`` and ``offers.offer_number`` only, never ``flows``.
"""
