"""What you do with a trained generator.

* :mod:`~gannet.trained.run`: a run folder loaded for use (:func:`gannet.load_run`): sample,
  score, and the config and metrics it was trained with.
* :mod:`~gannet.trained.memory`: how many samples fit in memory (a request for more is refused).
* :mod:`~gannet.trained.averaging`: the average of G's weights over a run's snapshots.
* :mod:`~gannet.trained.truncation`: the truncation trick.
* :mod:`~gannet.trained.synthset`: labelled synthetic data sets (``gannet augment``).
* :mod:`~gannet.trained.video`: walks through latent space as GIF or MP4.
* :mod:`~gannet.trained.exporting`: TorchScript, ONNX, bf16 and int8 exports.
* :mod:`~gannet.trained.projection`: finding the latent that draws a given image.
"""
