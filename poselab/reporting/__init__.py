"""Tables, figures and reports of attack results: a run's own report and the cross-run comparison."""
