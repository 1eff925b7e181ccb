"""The experiment lab: sweeps of train options on Ray Tune, and the comparison of runs.

* :mod:`.spec`: the YAML spec (fixed train options, a grid or a search), checked against the
  train command's own options; the trial list and names.
* :mod:`.trial`: one trial without Ray: the train command's config, ``train()``, a final
  evaluation, the completion marker.
* :mod:`.folder`: the sweep folder: locks, the spec record, the trial list, ``results.csv``.
* :mod:`.cluster`: Ray itself: a local Ray or a cluster, input files to nodes, run folders back.
* :mod:`.runner`: the Ray Tune run, resumable.
* :mod:`.table`: the live table of trials.
* :mod:`.compare`, :mod:`.compare_page`: ``deepracer-sim compare``: one row per run, ranked,
  and an HTML page.

This room sits between the command line and the rooms it drives (training, evaluation, logs).
It does not import the command line: ``deepracer-sim sweep`` hands it the train command's
parser (:class:`.spec.TrainOptions`) and ``build_config`` (:class:`.trial.TrialFactory`).
"""
