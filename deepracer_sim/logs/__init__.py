"""A run's logs in DeepRacer's formats: writing them during training and evaluation, reading
them back (this project's runs, deepracer-for-cloud, DeepRacer-on-AWS, console downloads) and
the analysis report.

* :mod:`~deepracer_sim.logs.events`: what training and evaluation report, the observer hooks;
* :mod:`~deepracer_sim.logs.rows`, :mod:`~deepracer_sim.logs.writer`: sim-trace CSVs,
  TrainingMetrics / EvaluationMetrics JSON and the text log;
* :mod:`~deepracer_sim.logs.reader`: :func:`~deepracer_sim.logs.reader.read_run`;
* :mod:`~deepracer_sim.logs.robomaker`: a robomaker-style text log on demand;
* :mod:`~deepracer_sim.logs.report`: ``deepracer-sim analyze``'s HTML report.

The file names are those of :mod:`deepracer_sim.formats.run_folder`.
"""
