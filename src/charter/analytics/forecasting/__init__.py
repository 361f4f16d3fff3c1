"""Forecasting models and their accuracy metrics (DeepAR: specs/deepar.md)."""
