"""A tiny corelosses plugin: ``squared_log_error`` and a toy array backend."""
