"""Datasets behind one sample contract (:mod:`.sample`): the embedded synthetic one (:mod:`.synthetic`),
Human3.6M (:mod:`.h36m`) and the LightningDataModule choosing one by config (:mod:`.datamodule`)."""
