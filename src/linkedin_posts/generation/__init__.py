"""AI generation: variants from a brief, rewrites of a draft, streaming, through one provider."""
