"""Run files and their formats: what a run folder holds and how each file is written and read.

* :mod:`~gannet.files.rundir`: the run folder's layout and its small files (config, run.json,
  metrics.jsonl), no torch.
* :mod:`~gannet.files.checkpoint`: checkpoints, written atomically, loaded with
  ``weights_only=True``.
* :mod:`~gannet.files.atomic`: atomic writes (temporary file, fsync, rename) for every file.
* :mod:`~gannet.files.samplefile`: the ``.npz`` sample archives of ``gannet sample --out``.
* :mod:`~gannet.files.jsonfloat`: NaN and infinity in JSON files.
* :mod:`~gannet.files.pictures`: sample grids (PNG) and training curves.
"""
