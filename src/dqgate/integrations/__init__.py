"""dqgate inside other tools' frameworks (orchestrators); each module imports its tool only when used."""
