"""Bulk jobs: many posts generated, analyzed or imported in the background."""
