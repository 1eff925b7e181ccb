"""Training: PPO on DeepRacer's iterations, checkpoints and run folder.

* :mod:`~deepracer_sim.training.ppo`: :func:`~deepracer_sim.training.ppo.train`;
* :mod:`~deepracer_sim.training.config`: :class:`~deepracer_sim.training.config.TrainConfig`;
* :mod:`~deepracer_sim.training.runs`: creating a run folder (never over another);
* :mod:`~deepracer_sim.training.resume`: continuing one (``train --resume``);
* :mod:`~deepracer_sim.training.checkpoints`: saving, evaluating and committing checkpoints;
* :mod:`~deepracer_sim.training.callbacks`: iterations, stop rules, the progress bar;
* :mod:`~deepracer_sim.training.signals`: SIGINT, SIGTERM and SIGHUP during training;
* :mod:`~deepracer_sim.training.evaluation`: greedy laps, ``evaluate``;
* :mod:`~deepracer_sim.training.policy`: loading a policy, weights only.
"""
