"""DeepRacer's camera networks as the simapp stores them: the variables (names, shapes) of a
ClippedPPO camera model, the schema every TensorFlow file of
:mod:`~deepracer_sim.formats.tf_checkpoint` and :mod:`~deepracer_sim.formats.tf_graph` is written
and checked against.

What the simapp builds (ClippedPPO, ``FRONT_FACING_CAMERA``; rl_coach vendored in
aws-deepracer-community/deepracer-simapp@01f5f015 ``bundle/rl_coach`` and ``bundle/markov``;
cloud-model-format.md §2):

* input ``main_level/agent/main/online/network_0/FRONT_FACING_CAMERA/FRONT_FACING_CAMERA``,
  a float placeholder ``[N, 120, 160, 1]`` of grey levels 0-255, divided by 255 in the graph
  (``embedders/embedder.py::InputEmbedder._build_module``, ``input_rescaling`` 255);
* two separate towers (``use_separate_networks_per_head``, ``general_network.py::get_model``):
  ``network_0`` = value (embedder + middleware + ``v_values_head_0/output`` Dense 1),
  ``network_1`` = policy (embedder + middleware + ``ppo_head_0``);
* embedder layers named ``<Class>_<index>`` with a ReLU layer after each, so the weights sit at
  ``Conv2d_0, Conv2d_2, ...`` then ``Dense_<2k>`` (``embedder.py``; the scheme from
  ``markov/sensors/utils.py::get_front_camera_embedders``, ReLU from
  ``markov/agents/utils.py::get_network_settings``); valid padding; a ``Dense`` inside the
  embedder acts on the last (channel) axis of the feature map, before the ``Flatten`` (so
  ``DEEP_CONVOLUTIONAL_NETWORK``'s middleware sees 25 x 35 x 64 = 56,000 features);
* middleware ``middleware_fc_embedder/Dense_0`` (512, ReLU) (``middlewares/fc_middleware.py``);
* ``gradients_from_head_0-0_rescalers`` scalar per tower (forward pass: identity);
* discrete head ``ppo_head_0/policy_fc`` then ``softmax`` named ``policy``; continuous head
  ``ppo_head_0/policy_mean`` (Dense 2) then ``identity`` named ``policy``, and the variable
  ``ppo_head_0/policy_log_std`` ``[1, 2]`` (``heads/ppo_head.py``).

The checkpoint holds exactly the trainable variables (``savers.py::GlobalVariableSaver``): 22
for a discrete SHALLOW model, 23 for a continuous one, 30 / 31 for DEEP_CONVOLUTIONAL_NETWORK
(listed from the real rl_coach graph); the loader matches them by name and shape and ignores
extra tensors (``savers.py::from_arrays``). ``DEEP_CONVOLUTIONAL_NETWORK_DEEP``, stereo and lidar
models and SAC are not supported (a clear error says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from deepracer_sim.constants import CAMERA_IMAGE_SHAPE
from deepracer_sim.errors import NetworkError
from deepracer_sim.formats.model_metadata import ActionSpace

#: The ClippedPPO agent's online network scope (``main_level/<agent>/main/online``).
SCOPE = "main_level/agent/main/online"
#: DeepRacer's camera frame, height x width x channels.
IMAGE_SHAPE = CAMERA_IMAGE_SHAPE
#: Sensor names whose embedder is the single-camera network (``"observation"``: pre-2020
#: models); the sensor name is part of the variable and node names.
TF_CAMERA_SENSORS = ("FRONT_FACING_CAMERA", "observation")
DEFAULT_SENSOR = "FRONT_FACING_CAMERA"


@dataclass(frozen=True)
class NetworkSpec:
    """One of DeepRacer's camera networks (``model_metadata.json`` ``neural_network``).

    Attributes:
        name: the ``neural_network`` value.
        convs: (filters, kernel size, stride) of each convolution, valid padding, ReLU after.
        embedder_dense: units of the embedder's dense layers, applied per pixel (on the
            channel axis) before the flatten, ReLU after.
        middleware_dense: units of the middleware dense layers, ReLU after.
    """

    name: str
    convs: tuple[tuple[int, int, int], ...]
    embedder_dense: tuple[int, ...]
    middleware_dense: tuple[int, ...]

    def feature_map(self, image: tuple[int, int, int] = IMAGE_SHAPE) -> tuple[int, int, int]:
        """(height, width, channels) of the embedder output before the flatten."""
        h, w, c = image
        for filters, k, s in self.convs:
            h, w, c = (h - k) // s + 1, (w - k) // s + 1, filters
        for units in self.embedder_dense:
            c = units
        return h, w, c

    @property
    def flat_features(self) -> int:
        """Length of the flattened embedding (the first middleware layer's input)."""
        h, w, c = self.feature_map()
        return h * w * c

    @property
    def features(self) -> int:
        """Width of the middleware output (the heads' input)."""
        return self.middleware_dense[-1]


#: markov/sensors/utils.py::get_front_camera_embedders + architecture/custom_architectures.py
#: DEFAULT_MIDDLEWARE (deepracer-simapp@01f5f015).
NETWORKS: dict[str, NetworkSpec] = {
    "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW": NetworkSpec(
        "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", ((32, 8, 4), (64, 4, 2), (64, 3, 1)), (), (512,)),
    "DEEP_CONVOLUTIONAL_NETWORK": NetworkSpec(
        "DEEP_CONVOLUTIONAL_NETWORK", ((32, 5, 2), (32, 3, 1), (64, 3, 2), (64, 3, 1)), (64,),
        (512,)),
}
DEFAULT_NETWORK = "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"


def network_spec(name: str) -> NetworkSpec:
    """The :class:`NetworkSpec` of a ``neural_network`` name.

    Raises:
        NetworkError: an unknown or unsupported name.
    """
    if name not in NETWORKS:
        raise NetworkError(f"neural_network {name!r} is not supported; use one of "
                           f"{sorted(NETWORKS)}")
    return NETWORKS[name]


@dataclass(frozen=True)
class Layer:
    """One weight layer of a tower, as named in the TensorFlow graph.

    Attributes:
        kind: "conv", "pixel_dense" (embedder dense on the channel axis) or "dense".
        scope: the variable scope, e.g. ``.../network_1/FRONT_FACING_CAMERA/Conv2d_0``.
        kernel: the TF kernel shape ([kh, kw, in, out] or [in, out]).
        stride: convolution stride (1 for dense layers).
        activation: the name of the ReLU node after it.
    """

    kind: str
    scope: str
    kernel: tuple[int, ...]
    stride: int
    activation: str


@dataclass(frozen=True)
class ModelSpec:
    """A DeepRacer ClippedPPO camera model: network, action head and sensor name.

    Attributes:
        network: the camera network.
        n_actions: number of discrete actions, or 2 for continuous (steering, speed).
        continuous: continuous (Gaussian mean over [-1, 1]^2) or discrete (softmax) head.
        sensor: the embedder's input name, ``FRONT_FACING_CAMERA`` (or legacy
            ``observation``).
    """

    network: NetworkSpec
    n_actions: int
    continuous: bool = False
    sensor: str = DEFAULT_SENSOR

    def __post_init__(self) -> None:
        if self.continuous and self.n_actions != 2:
            raise NetworkError(f"a continuous DeepRacer head has 2 outputs (steering, "
                               f"speed), not {self.n_actions}")
        if not self.continuous and self.n_actions < 1:
            raise NetworkError(f"a discrete head needs at least one action, got "
                               f"{self.n_actions}")
        if self.sensor not in TF_CAMERA_SENSORS:
            raise NetworkError(f"sensor {self.sensor!r}: only the single camera "
                               f"{TF_CAMERA_SENSORS} is supported")

    @property
    def input_node(self) -> str:
        """The frozen graph's input placeholder (the car's ``--input``)."""
        return f"{SCOPE}/network_0/{self.sensor}/{self.sensor}"

    @property
    def output_node(self) -> str:
        """The frozen graph's output (``FROZEN_HEAD_OUTPUT_GRAPH_FORMAT_MAPPING`` clipped_ppo)."""
        return f"{SCOPE}/network_1/ppo_head_0/policy"

    @property
    def value_node(self) -> str:
        """The value head's output node in the meta graph."""
        return f"{SCOPE}/network_0/v_values_head_0/output/BiasAdd"

    def tower_layers(self, tower: int) -> list[Layer]:
        """Embedder then middleware weight layers of ``network_<tower>``."""
        base = f"{SCOPE}/network_{tower}"
        emb = f"{base}/{self.sensor}"
        out = []
        cin = IMAGE_SHAPE[2]
        idx = 0
        for filters, k, s in self.network.convs:
            out.append(Layer("conv", f"{emb}/Conv2d_{idx}", (k, k, cin, filters), s,
                             f"{emb}/BatchnormActivationDropout_{idx + 1}_activation"))
            cin = filters
            idx += 2
        for units in self.network.embedder_dense:
            out.append(Layer("pixel_dense", f"{emb}/Dense_{idx}", (cin, units), 1,
                             f"{emb}/BatchnormActivationDropout_{idx + 1}_activation"))
            cin = units
            idx += 2
        mid = f"{base}/middleware_fc_embedder"
        cin = self.network.flat_features
        for j, units in enumerate(self.network.middleware_dense):
            out.append(Layer("dense", f"{mid}/Dense_{2 * j}", (cin, units), 1,
                             f"{mid}/BatchnormActivationDropout_{2 * j + 1}_activation"))
            cin = units
        return out

    def head_variables(self) -> dict[str, tuple[int, ...]]:
        """The policy head's variables (network_1/ppo_head_0/...)."""
        head = f"{SCOPE}/network_1/ppo_head_0"
        f = self.network.features
        if self.continuous:
            return {f"{head}/policy_mean/kernel": (f, 2), f"{head}/policy_mean/bias": (2,),
                    f"{head}/policy_log_std": (1, 2)}
        return {f"{head}/policy_fc/kernel": (f, self.n_actions),
                f"{head}/policy_fc/bias": (self.n_actions,)}

    def variables(self) -> dict[str, tuple[int, ...]]:
        """Every variable the simapp restores (name -> shape, all float32), in the order
        rl_coach creates them: 22 for a discrete SHALLOW model, 23 for a continuous one."""
        out: dict[str, tuple[int, ...]] = {}
        for tower in (0, 1):
            for layer in self.tower_layers(tower):
                out[f"{layer.scope}/kernel"] = layer.kernel
                out[f"{layer.scope}/bias"] = (layer.kernel[-1],)
            out[f"{SCOPE}/network_{tower}/gradients_from_head_0-0_rescalers"] = ()
            if tower == 0:
                v = f"{SCOPE}/network_0/v_values_head_0/output"
                out[f"{v}/kernel"] = (self.network.features, 1)
                out[f"{v}/bias"] = (1,)
            else:
                out.update(self.head_variables())
        return out


def rescaler_names() -> tuple[str, str]:
    """The two ``gradients_from_head_0-0_rescalers`` variables (value 1.0)."""
    return (f"{SCOPE}/network_0/gradients_from_head_0-0_rescalers",
            f"{SCOPE}/network_1/gradients_from_head_0-0_rescalers")


def validate_variables(variables: Mapping[str, np.ndarray], spec: ModelSpec,
                       source: str = "weights") -> dict[str, np.ndarray]:
    """``variables`` as float32 arrays in ``spec``'s order, checked.

    Raises:
        NetworkError: a missing variable, a wrong shape, or a non-finite value (the message
            names the variable and the fix). Extra names are an error too (the writer writes
            exactly the restored set).
    """
    want = spec.variables()
    missing = [n for n in want if n not in variables]
    extra = [n for n in variables if n not in want]
    if missing or extra:
        raise NetworkError(
            f"{source}: " + (f"missing {missing[:3]}{' ...' if len(missing) > 3 else ''} "
                             if missing else "")
            + (f"unexpected {extra[:3]}{' ...' if len(extra) > 3 else ''} " if extra else "")
            + f"for a {spec.network.name} {'continuous' if spec.continuous else 'discrete'} "
            f"model with {spec.n_actions} actions: convert the torch weights with "
            "training.tf_weights.sb3_to_tf_variables for this network and action space")
    out = {}
    for name, shape in want.items():
        array = np.asarray(variables[name], dtype=np.float32)
        if array.shape != shape:
            raise NetworkError(f"{source}: {name} has shape {list(array.shape)}, the simapp "
                               f"restores {list(shape)}: the weights belong to another "
                               "network or action space")
        if not np.all(np.isfinite(array)):
            raise NetworkError(f"{source}: {name} holds NaN or infinite values: training "
                               "diverged; export an earlier checkpoint")
        out[name] = array
    return out


def model_spec(neural_network: str, space: ActionSpace, sensor: str = DEFAULT_SENSOR) -> ModelSpec:
    """The :class:`ModelSpec` of a ``model_metadata.json``'s ``neural_network``, action space and
    camera sensor.

    Raises:
        NetworkError: an unsupported network or sensor, or an action space of no actions.
    """
    return ModelSpec(network_spec(neural_network), 2 if space.continuous else len(space),
                     space.continuous, sensor)
