"""Adapters: the only code that imports boto3. They map AWS errors to domain errors."""
