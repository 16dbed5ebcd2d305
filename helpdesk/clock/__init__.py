"""Time-driven work: the scheduler and the weekly digest."""
