"""The api function's FastAPI app (served by Mangum on AWS, by uvicorn in the local stack)."""
