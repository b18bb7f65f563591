"""The task model around a recurrent network: an input encoder, the network, a linear head.

What the Recurrent page traces and what ``explorer.training.sequence`` trains: characters enter
as one-hot vectors or a learned embedding, signals as real features; the head predicts at every
step or from the last one. The recurrent part is the explicit network of
``explorer.models.recurrent`` or torch's fused twin; both share parameter names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from torch import Tensor, nn

from explorer.models.recurrent import (
    RecurrentConfig,
    RecurrentConfigError,
    RecurrentNet,
    State,
    torch_twin,
)


@dataclass(frozen=True)
class SequenceModelConfig:
    """A recurrent network with what goes in and what comes out.

    ``encoding``: "onehot" (vocabulary-sized one-hot vectors), "embedding" (a learned table
    of ``embed_dim`` vectors) or "signal" (real-valued features, ``input_features`` per step).
    ``output_size``: the head's outputs (vocabulary for next-char, 1 for a regression).
    ``head``: "every" (a prediction per step) or "last" (one prediction from the last step).
    """

    cell: str
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    nonlinearity: str = "tanh"
    encoding: str = "onehot"
    vocab_size: int = 0
    embed_dim: int = 16
    input_features: int = 1
    output_size: int = 1
    head: str = "every"

    @property
    def rnn_input_size(self) -> int:
        if self.encoding == "onehot":
            return self.vocab_size
        if self.encoding == "embedding":
            return self.embed_dim
        return self.input_features

    def rnn_config(self) -> RecurrentConfig:
        return RecurrentConfig(
            self.cell,
            self.rnn_input_size,
            self.hidden_size,
            self.num_layers,
            self.bidirectional,
            self.nonlinearity,
            batch_first=False,
        )


class SequenceModel(nn.Module):
    """Encoder -> recurrent network -> linear head; time-major (T x N) like torch's RNNs.

    ``rnn`` is an explicit ``RecurrentNet`` or torch's fused twin; both share parameter
    names, so a state_dict trained with one loads into the other.
    """

    def __init__(self, config: SequenceModelConfig, fused: bool = False) -> None:
        super().__init__()
        if config.encoding not in ("onehot", "embedding", "signal"):
            raise RecurrentConfigError(f"Unknown input encoding {config.encoding!r}.")
        self.config = config
        self.embedding = (
            nn.Embedding(config.vocab_size, config.embed_dim)
            if config.encoding == "embedding"
            else None
        )
        net = RecurrentNet(config.rnn_config())
        self.rnn: nn.Module = torch_twin(net) if fused else net
        directions = 2 if config.bidirectional else 1
        self.head = nn.Linear(config.hidden_size * directions, config.output_size)

    def encode(self, x: Tensor) -> Tensor:
        """Token ids T x N (int) or features T x N x F -> T x N x rnn_input_size."""
        if self.config.encoding == "onehot":
            return nn.functional.one_hot(x.long(), self.config.vocab_size).float()
        if self.config.encoding == "embedding":
            return self.embedding(x.long())
        return x.float()

    def forward(self, x: Tensor, hx: State = None) -> tuple[Tensor, State]:
        """Return (predictions, final state): T x N x out for "every", N x out for "last"."""
        out, state = self.rnn(self.encode(x), hx)  # T x N x D*H
        if self.config.head == "last":
            return self.head(out[-1]), state
        return self.head(out), state

    def explicit(self) -> SequenceModel:
        """A copy whose recurrent part is the explicit network (for traces)."""
        if isinstance(self.rnn, RecurrentNet):
            return self
        twin = SequenceModel(self.config, fused=False)
        twin.load_state_dict(self.state_dict())
        return twin.to(next(self.parameters()).device)


def state_digest(state_dict: dict[str, Tensor]) -> str:
    """A content hash of a state dict: the cache key of a trained model's weights."""
    h = hashlib.sha1()
    for name in sorted(state_dict):
        h.update(name.encode())
        h.update(state_dict[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
