"""Events dqgate sends to other systems (OpenLineage run events); plain values in, nothing of dqgate's types."""
