"""Real human motion: a BVH reader (:mod:`.bvh`), retargeting to poselab's 17 joints on a synthetic
subject's body (:mod:`.retarget`) and the shipped CMU motion-capture clip (:mod:`.cmu`)."""
