"""Text analysis of a post: language, readability, sentiment, keywords."""
