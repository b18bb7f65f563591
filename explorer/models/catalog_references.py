"""The papers the catalog cites (citation, url) and the texts it shows: each family's design
idea in one sentence, and how torchvision's definitions depart from the papers.
"""

LECUN98 = (
    "LeCun, Bottou, Bengio, Haffner. Gradient-based learning applied to document recognition. "
    "Proc. IEEE, 1998.",
    "https://doi.org/10.1109/5.726791",
)
KRIZHEVSKY12 = (
    "Krizhevsky, Sutskever, Hinton. ImageNet classification with deep convolutional neural "
    "networks. NIPS 2012.",
    "https://papers.nips.cc/paper/4824",
)
SIMONYAN14 = (
    "Simonyan, Zisserman. Very deep convolutional networks for large-scale image recognition. "
    "ICLR 2015.",
    "https://arxiv.org/abs/1409.1556",
)
LIN13 = ("Lin, Chen, Yan. Network in network. ICLR 2014.", "https://arxiv.org/abs/1312.4400")
SZEGEDY14 = (
    "Szegedy et al. Going deeper with convolutions. CVPR 2015.",
    "https://arxiv.org/abs/1409.4842",
)
HE15 = (
    "He, Zhang, Ren, Sun. Deep residual learning for image recognition. CVPR 2016.",
    "https://arxiv.org/abs/1512.03385",
)
ELMAN90 = (
    "Elman. Finding structure in time. Cognitive Science, 1990.",
    "https://doi.org/10.1207/s15516709cog1402_1",
)
SCHUSTER97 = (
    "Schuster, Paliwal. Bidirectional recurrent neural networks. IEEE Trans. Signal Processing, 1997.",
    "https://doi.org/10.1109/78.650093",
)
CHO14 = (
    "Cho et al. Learning phrase representations using RNN encoder-decoder for statistical machine "
    "translation. EMNLP 2014.",
    "https://arxiv.org/abs/1406.1078",
)
GERS00 = (
    "Gers, Schmidhuber, Cummins. Learning to forget: continual prediction with LSTM. "
    "Neural Computation, 2000.",
    "https://doi.org/10.1162/089976600300015015",
)
SCHMIDHUBER92 = (
    "Schmidhuber. Learning complex, extended sequences using the principle of history "
    "compression. Neural Computation, 1992.",
    "https://doi.org/10.1162/neco.1992.4.2.234",
)
ELHIHI96 = (
    "El Hihi, Bengio. Hierarchical recurrent neural networks for long-term dependencies. "
    "NIPS 1995 (1996).",
    "https://papers.nips.cc/paper/1102",
)
GRAVES13 = (
    "Graves, Mohamed, Hinton. Speech recognition with deep recurrent neural networks. ICASSP 2013.",
    "https://arxiv.org/abs/1303.5778",
)
HOCHREITER97 = (
    "Hochreiter, Schmidhuber. Long short-term memory. Neural Computation, 1997.",
    "https://doi.org/10.1162/neco.1997.9.8.1735",
)
COURSE = (
    "The course's Keras example (Conv32-Pool-Conv64-Pool-Dense128-sigmoid); the course gives it no "
    "date or paper.",
    "",
)

IDEA_LENET = "The template every CNN still follows: convolution and pooling extract features, dense layers classify."
IDEA_ALEXNET = "Depth, ReLU, dropout and training on GPUs won ImageNet 2012 by a wide margin."
IDEA_VGG = (
    "Uniform blocks of 3x3 convolutions: two 3x3 layers see as far as one 5x5, with fewer weights."
)
IDEA_NIN = (
    "1x1 convolutions act as a per-pixel MLP, and global average pooling replaces the dense layers."
)
IDEA_GOOGLENET = (
    "Parallel multi-scale branches (1x1, 3x3, 5x5, pool), with 1x1 bottlenecks to keep them cheap."
)

# How torchvision's definitions (the ones with ImageNet weights) depart from the papers.
TV_ALEXNET = (
    "torchvision's variant, from Krizhevsky's 2014 'One weird trick' paper: 64/192/384/256/256 "
    "filters, no local response normalisation, no two-group split. The 2012 network "
    "(96/256/384/384/256 filters in two groups, LRN) is 'AlexNet (2012, as published)'."
)
TV_GOOGLENET = (
    "torchvision's variant: its '5x5' branch is a 3x3 convolution (a deviation kept for its "
    "pretrained weights), every convolution has batch norm (which Inception v1 predates) and "
    "there is no LRN; parameters and MACs shown are this variant's. The paper's network is "
    "'GoogLeNet (Inception v1, as published)'."
)
TV_RESNET50 = (
    "torchvision's ResNet-50 v1.5: the stride-2 of each downsampling bottleneck sits in its 3x3 "
    "convolution, not in the first 1x1 as in the paper, which costs 4.09 G MACs per 224 x 224 "
    "image against the paper's 3.8 G multiply-adds (and sees a smaller receptive field)."
)
AS_PUBLISHED = (
    "Built from the paper's text and tables, with random weights (no weights are published for it)."
)

IDEA_RESNET = "Residual connections (y = F(x) + x) make very deep networks trainable."
