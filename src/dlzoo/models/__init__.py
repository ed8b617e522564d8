"""Networks: plain ``nn.Module``s built as ``Net(input_shape, num_outputs, **options)``.

Every network takes the shape of one example and the number of outputs as its first two
arguments, so sizes come from the datamodule and configs only hold the design choices.
"""

from dlzoo.models.classic import VGG, AlexNet, NiN
from dlzoo.models.densenet import DenseNet
from dlzoo.models.detection import TorchvisionDetector
from dlzoo.models.googlenet import GoogLeNet
from dlzoo.models.hybrid import CNNRNN
from dlzoo.models.lenet import LeNet, LeNetModern
from dlzoo.models.linear import Linear
from dlzoo.models.mlp import MLP
from dlzoo.models.nadaraya_watson import NadarayaWatson
from dlzoo.models.pretrained import TorchvisionNet
from dlzoo.models.resnet import ResNet
from dlzoo.models.rnn import RNNLM, ScratchRNNLM
from dlzoo.models.seq2seq import Seq2Seq, Seq2SeqAttention, TransformerSeq2Seq
from dlzoo.models.ssd import TinySSD
from dlzoo.models.transformer import TransformerLM

__all__ = [
    "CNNRNN",
    "MLP",
    "RNNLM",
    "VGG",
    "AlexNet",
    "DenseNet",
    "GoogLeNet",
    "LeNet",
    "LeNetModern",
    "Linear",
    "NadarayaWatson",
    "NiN",
    "ResNet",
    "ScratchRNNLM",
    "TinySSD",
    "TorchvisionDetector",
    "TorchvisionNet",
    "Seq2Seq",
    "Seq2SeqAttention",
    "TransformerLM",
    "TransformerSeq2Seq",
]
