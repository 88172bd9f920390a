"""Case tables of section "model_level": whole models of Keras's own layers, on the plugin and off."""

# Section "model_level": whole models of Keras's own layers, with the plugin on
# and off. "application" names a keras.applications model (built with
# weights=None, no top, average pooling); "stack" names one of STACKS.
MODEL_CASES = [  # "slow": a whole keras.applications model, 10-60 s to compile on 2 cores
    {"id": "resnet50", "application": "ResNet50", "input_shape": (2, 32, 32, 3), "slow": True},
    {"id": "vgg16", "application": "VGG16", "input_shape": (2, 32, 32, 3), "slow": True},
    {"id": "densenet121", "application": "DenseNet121", "input_shape": (2, 32, 32, 3), "slow": True},
    {"id": "mobilenet", "application": "MobileNet", "input_shape": (2, 32, 32, 3), "slow": True},  # depthwise
    {"id": "xception", "application": "Xception", "input_shape": (1, 71, 71, 3), "slow": True},  # separable
    {
        "id": "convnext-tiny",
        "application": "ConvNeXtTiny",
        "input_shape": (1, 32, 32, 3),
        "slow": True,
    },  # 7x7 depthwise
    {"id": "efficientnetb0", "application": "EfficientNetB0", "input_shape": (1, 32, 32, 3), "slow": True},
    {"id": "mobilenetv3small", "application": "MobileNetV3Small", "input_shape": (1, 32, 32, 3), "slow": True},
    {"id": "unet", "stack": "unet", "input_shape": (2, 16, 16, 3)},  # Conv2DTranspose, skip connections
    {"id": "convlstm2d-stack", "stack": "convlstm2d", "input_shape": (2, 4, 8, 8, 2)},
    {"id": "adaptive-pooling-stack", "stack": "adaptive", "input_shape": (2, 11, 13, 3), "layer": "adaptivemaxpool2d"},
    {"id": "conv1d-stack", "stack": "conv1d", "input_shape": (2, 40, 3)},
    {"id": "conv2d-channels-first-stack", "stack": "conv2d_channels_first", "input_shape": (2, 4, 17, 18)},
    {"id": "conv3d-stack", "stack": "conv3d", "input_shape": (2, 8, 9, 10, 2)},
]
CF = {"data_format": "channels_first"}
STACKS = {  # (keras.layers class name, arguments), in order; "unet" is built by model_level.unet
    "conv1d": [
        ("Conv1D", {"filters": 8, "kernel_size": 5, "padding": "causal", "dilation_rate": 2, "activation": "relu"}),
        ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}),
        ("Conv1D", {"filters": 8, "kernel_size": 3, "strides": 2, "groups": 2}),
        ("AveragePooling1D", {"pool_size": 2, "padding": "same"}),
        ("SeparableConv1D", {"filters": 6, "kernel_size": 3, "depth_multiplier": 2, "padding": "same"}),
        ("GlobalAveragePooling1D", {}),
        ("Dense", {"units": 5}),
    ],
    "conv2d_channels_first": [
        ("Conv2D", {"filters": 6, "kernel_size": 3, "strides": 2, **CF}),
        ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same", **CF}),
        ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same", **CF}),
        ("MaxPooling2D", {"pool_size": 2, **CF}),
        ("Flatten", {}),
        ("Dense", {"units": 4}),
    ],
    "convlstm2d": [
        ("ConvLSTM2D", {"filters": 4, "kernel_size": 3, "padding": "same", "return_sequences": True}),
        ("ConvLSTM2D", {"filters": 3, "kernel_size": 2, "strides": 2}),
        ("Flatten", {}),
        ("Dense", {"units": 3}),
    ],
    "adaptive": [
        ("Conv2D", {"filters": 6, "kernel_size": 3, "activation": "relu"}),
        ("AdaptiveMaxPooling2D", {"output_size": (4, 5)}),
        ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 1}),
        ("AdaptiveAveragePooling2D", {"output_size": 3}),
        ("Flatten", {}),
        ("Dense", {"units": 2}),
    ],
    "conv3d": [
        ("Conv3D", {"filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}),
        ("MaxPooling3D", {"pool_size": 2, "padding": "same"}),
        ("Conv3D", {"filters": 6, "kernel_size": (2, 3, 2), "groups": 2}),
        ("AveragePooling3D", {"pool_size": (1, 2, 2)}),
        ("Flatten", {}),
        ("Dense", {"units": 3}),
    ],
}
