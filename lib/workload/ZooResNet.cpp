//===- ZooResNet.cpp - ResNet-50 v1.5 ---------------------------------------===//
//
// ResNet-50 (He et al. 2016, "Deep Residual Learning for Image Recognition") in the v1.5
// layout used by torchvision and MLPerf: bottleneck blocks 1x1 -> 3x3 -> 1x1 with the
// stride on the 3x3 convolution, a strided 1x1 projection shortcut in the first block of
// each stage, BatchNorm after every convolution, stages of [3, 4, 6, 3] blocks with widths
// 64/128/256/512 and expansion 4, global average pooling and a 1000-way classifier.
// 25,557,032 parameters; about 4.09 G multiply-accumulates per 224x224 image. Each
// bottleneck block is one `layer` (16 in all); stem and classifier are outside.
//
//===----------------------------------------------------------------------===//
#include "workload/ZooBuilder.h"

namespace tessera::workload::zoo {

namespace {

class ResNetBuilder {
public:
  ResNetBuilder(const std::string &model, int64_t batch, DType dtype)
      : b_(model, dtype, false), n_(batch) {}

  Graph build() {
    TensorId x = b_.input("images", {n_, 3, 224, 224}, b_.dtype());
    x = relu(batchNorm(conv(x, 64, 7, 2, 3, "stem.conv"), "stem.bn"), "stem.relu");
    OpAttrs pool;
    pool.kernelH = pool.kernelW = 3;
    pool.strideH = pool.strideW = 2;
    pool.padT = pool.padL = pool.padB = pool.padR = 1;
    Shape s = b_.shape(x);
    x = b_.op1(OpKind::MaxPool2d, "stem.maxpool", {x},
               {n_, s[1], outSize(s[2], 3, 2, 1), outSize(s[3], 3, 2, 1)}, pool);

    const int64_t blocks[4] = {3, 4, 6, 3};
    const int64_t widths[4] = {64, 128, 256, 512};
    int32_t layer = 0;
    for (int stage = 0; stage < 4; ++stage)
      for (int64_t i = 0; i < blocks[stage]; ++i) {
        b_.layer = layer++;
        b_.prefix = "stage" + std::to_string(stage + 1) + ".block" + std::to_string(i) + ".";
        x = bottleneck(x, widths[stage], i == 0 && stage > 0 ? 2 : 1, i == 0);
      }
    b_.layer = -1;
    b_.prefix = "";

    int64_t c = b_.shape(x)[1];
    x = b_.op1(OpKind::GlobalAvgPool, "head.avgpool", {x}, {n_, c, 1, 1});
    x = b_.op1(OpKind::Reshape, "head.flatten", {x}, {n_, c});
    TensorId w = b_.param("head.fc.weight", {c, 1000});
    TensorId bias = b_.param("head.fc.bias", {1000});
    x = b_.op1(OpKind::MatMul, "head.fc", {x, w}, {n_, 1000});
    x = b_.op1(OpKind::Add, "head.fc.bias-add", {x, bias}, {n_, 1000});
    TensorId labels = b_.input("labels", {n_}, DType::I64);
    OpAttrs ce;
    ce.axis = -1;
    TensorId loss = b_.op(OpKind::CrossEntropy, "loss", {x, labels}, {{"", {}, DType::F32}}, ce)[0];
    b_.graph().outputs().push_back(loss);
    return b_.take();
  }

private:
  static int64_t outSize(int64_t in, int64_t k, int64_t stride, int64_t pad) {
    return (in + 2 * pad - k) / stride + 1;
  }

  TensorId conv(TensorId x, int64_t cout, int64_t k, int64_t stride, int64_t pad,
                const std::string &name) {
    Shape s = b_.shape(x);
    TensorId w = b_.param(name + ".weight", {cout, s[1], k, k});
    OpAttrs a;
    a.kernelH = a.kernelW = k;
    a.strideH = a.strideW = stride;
    a.padT = a.padL = a.padB = a.padR = pad;
    return b_.op1(OpKind::Conv2d, name, {x, w},
                  {s[0], cout, outSize(s[2], k, stride, pad), outSize(s[3], k, stride, pad)}, a);
  }

  TensorId batchNorm(TensorId x, const std::string &name) {
    int64_t c = b_.shape(x)[1];
    TensorId gamma = b_.param(name + ".weight", {c});
    TensorId beta = b_.param(name + ".bias", {c});
    TensorId mean = b_.constant(b_.prefix + name + ".running-mean", {c}, DType::F32);
    TensorId var = b_.constant(b_.prefix + name + ".running-var", {c}, DType::F32);
    OpAttrs a;
    a.axis = 1;
    return b_.op1(OpKind::BatchNorm, name, {x, gamma, beta, mean, var}, b_.shape(x), a);
  }

  TensorId relu(TensorId x, const std::string &name) {
    return b_.op1(OpKind::Relu, name, {x}, b_.shape(x));
  }

  TensorId bottleneck(TensorId x, int64_t width, int64_t stride, bool project) {
    TensorId o = relu(batchNorm(conv(x, width, 1, 1, 0, "conv1"), "bn1"), "relu1");
    o = relu(batchNorm(conv(o, width, 3, stride, 1, "conv2"), "bn2"), "relu2");
    o = batchNorm(conv(o, width * 4, 1, 1, 0, "conv3"), "bn3");
    TensorId shortcut = x;
    if (project)
      shortcut = batchNorm(conv(x, width * 4, 1, stride, 0, "downsample.conv"), "downsample.bn");
    return relu(b_.op1(OpKind::Add, "residual", {o, shortcut}, b_.shape(o)), "relu3");
  }

  GraphBuilder b_;
  int64_t n_;
};

} // namespace

Graph buildResNet50(const std::string &model, int64_t batch, DType dtype) {
  return ResNetBuilder(model, batch, dtype).build();
}

} // namespace tessera::workload::zoo
