"""Datasets behind one sample contract (:mod:`poselab.data.sample`).

* :class:`poselab.data.synthetic.SyntheticMultiView` - embedded synthetic 4-camera dataset (default).
* :class:`poselab.data.h36m.Human36M` - Human3.6M, learnable-triangulation preprocessed layout.
* :class:`poselab.data.datamodule.PoseDataModule` - the LightningDataModule choosing one by config.
"""
