"""The exchange simulator's shared code (the Lambda layer).

Layers, imports pointing down only: handlers (functions/*) -> usecases -> domain (pure) and
adapters (the only boto3 code).
"""
