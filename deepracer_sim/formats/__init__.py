"""DeepRacer's files: where they live, and one reader and one validator for each.

* :mod:`~deepracer_sim.formats.run_folder`: the run folder's and the export's file names
  (the one place they are written) and :class:`~deepracer_sim.formats.run_folder.RunFolder`;
* :mod:`~deepracer_sim.formats.problems`: :class:`~deepracer_sim.formats.problems.Problem`, the
  report mode (every problem) and the strict mode (raise the file's error) shared by all;
* :mod:`~deepracer_sim.formats.model_metadata`: action spaces and ``model_metadata.json``;
* :mod:`~deepracer_sim.formats.hyperparameters`: ``hyperparameters.json`` and its PPO mapping;
* :mod:`~deepracer_sim.formats.checkpoints`: checkpoint names, ``deepracer_checkpoints.json``,
  ``.coach_checkpoint``;
* :mod:`~deepracer_sim.formats.training_params`: ``training_params.yaml``;
* :mod:`~deepracer_sim.formats.metrics`: TrainingMetrics / EvaluationMetrics JSON;
* :mod:`~deepracer_sim.formats.reward_file`: ``reward_function.py`` as a file of a model folder;
* :mod:`~deepracer_sim.formats.simtrace`: sim-trace CSV files;
* :mod:`~deepracer_sim.formats.jsonio`, :mod:`~deepracer_sim.formats.files`: JSON values and
  atomic writes.
"""
