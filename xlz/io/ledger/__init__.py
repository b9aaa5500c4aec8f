"""The ledger (科技招商台账.sqlite): every consolidation recorded as a round in SQLite,
with the input bytes kept beside it. ``schema`` (what a ledger is, versions,
migrations), ``write`` (one round, one transaction), ``read`` (:class:`Ledger`),
``archive`` (content-addressed input bytes). docs/ledger.md documents the tables."""
