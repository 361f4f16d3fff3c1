"""Charter: self-hosted ML governance that speaks the SageMaker API."""

__version__ = "0.1.0"
