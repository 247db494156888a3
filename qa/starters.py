"""Starter questions: the chat's "Try asking" buttons and the widget's first screen (`GET /api/starters`)."""

from __future__ import annotations

STARTERS = (
    "What is a CNN?",
    "What should I learn before deep learning?",
    "I know Python and statistics. How do I get to random forests?",
    "Is ML engineering fully automated these days?",
    "Which metrics can I use to evaluate a model?",
    "What comes after Docker?",
)
