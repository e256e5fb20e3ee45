"""pavae: Pathology-Aware VAE study toolkit for chest radiographs under label scarcity.

The package is organised by the study's flow:

- ``pavae.data``: the data-set file, procedural radiographs, importers,
  preprocessing and the label-scarcity guard.
- ``pavae.models``: the conditional VAE, frozen networks, StyleGAN-lite and
  the downstream classifier.
- ``pavae.losses``: the terms of the PA-VAE objective.
- ``pavae.training``: training loops for frozen networks, generators and the
  downstream classifier.
- ``pavae.metrics``: classification, calibration and fidelity metrics.
- ``pavae.study``: strategies, study units and the ``reproduce`` pipeline.
- ``pavae.report``: figures and the Markdown report.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
