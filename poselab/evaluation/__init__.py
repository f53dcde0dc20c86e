"""Attack evaluation at test time: specs, runner, per-cell metrics, crash-safe state, the callback."""
