"""The REST API: questions, models, endpoints, prompt templates, runs, responses, reviews."""
