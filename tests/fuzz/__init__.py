"""A bounded fuzzing run over every OpenAPI operation (`make fuzz`, `python -m tests.fuzz`)."""
