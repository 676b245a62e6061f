"""Readiness over time: history, forecast, fix plan and burn-rate alerts, all from the
same metric and evaluation code as a check."""
