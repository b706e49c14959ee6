"""Framework-specific helpers a few losses need: ``torch_vgg`` (VGG16 features
for the perceptual losses) and ``distance`` (exact distance transforms for
``signed_distance_map``)."""
