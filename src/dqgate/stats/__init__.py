"""The statistics that drift checks, column profiles and metric history share.

* :mod:`~dqgate.stats.drift`: drift statistics (PSI, KS, JS, L-infinity, chi-square)
  from a reference's exact counts and the batch's aggregates;
* :mod:`~dqgate.stats.profile`: the column profile a snapshot keeps in its manifest
  (so drift never rescans a reference), built by SQL and merged exactly on append;
* :mod:`~dqgate.stats.history`: the metric values each published version kept, and
  the scores (change, z-score, MAD) that history rules take of them.

Pure or reading the store; no engine runs here (profiles are computed on a
connection the caller passes in). Compilers and runners build on this package.
"""
