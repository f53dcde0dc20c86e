"""Training-time callbacks: adversarial training."""
