"""One-off studies built on poselab (not part of the package): each folder has a README giving its command."""
