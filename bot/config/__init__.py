"""Configuration: the one pydantic model loaded from TOML and the environment, and its lint."""
