"""The embedded synthetic, calibrated 4-camera dataset (rig, pose prior, renderer, Dataset)."""

from poselab.data.synthetic.dataset import SyntheticMultiView
from poselab.data.synthetic.pose import (
           ACTIONS,
           SUBJECTS,
           TEST_SUBJECTS,
           TRAIN_SUBJECTS,
           make_subject,
           pose_world,
)
from poselab.data.synthetic.rig import Rig, h36m_like_rig

__all__ = ["ACTIONS", "SUBJECTS", "TEST_SUBJECTS", "TRAIN_SUBJECTS", "Rig", "SyntheticMultiView",
           "h36m_like_rig", "make_subject", "pose_world"]
