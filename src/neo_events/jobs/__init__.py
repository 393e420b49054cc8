"""The durable job queue (SPEC §14): work due later, claimed by one worker at a time."""
