"""Training-time callbacks: checkpoints, reseeding, channels-last (:mod:`.callbacks`) and adversarial
training (:mod:`.adversarial`)."""
