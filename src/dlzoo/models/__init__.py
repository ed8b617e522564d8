"""Networks: plain ``nn.Module``s built as ``Net(input_shape, num_outputs, **options)``.

Every network takes the shape of one example and the number of outputs as its first two
arguments, so sizes come from the datamodule and configs only hold the design choices.
"""

from dlzoo.models.linear import Linear
from dlzoo.models.mlp import MLP
from dlzoo.models.rnn import RNNLM, ScratchRNNLM
from dlzoo.models.transformer import TransformerLM

__all__ = ["MLP", "RNNLM", "Linear", "ScratchRNNLM", "TransformerLM"]
