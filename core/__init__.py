"""What every layer shares and no layer owns: where the data files are and how they are read with their
hash (:mod:`core.datafiles`), the province table's names (:mod:`core.provinces`), and the project's
vocabulary — segment codes, PV modes, customer types, repayments, offer statuses (:mod:`core.vocabulary`).

``core`` imports nothing of the project: every other package may import it.
"""
