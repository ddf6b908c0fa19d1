"""The protocols shipped with plancheck (YAML); see plancheck.protocol.registry."""
