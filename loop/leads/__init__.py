"""Lead scores and call lists (loop.md): which accounts to call next, and why.

``config`` (data/loop/leads.yaml), ``features`` (as of a scoring date, leak-checked), ``model``
(scikit-learn, calibrated, time split), ``rule`` (the score without a model), ``reasons`` (reason codes
and their Chinese text), ``store`` (the ``lead_models`` and ``lead_scores`` tables, training and scoring
against the warehouse), ``calls`` (a rep's call list and its one writer).
"""
