"""Code both halves share: settings, categories, errors, the async DB layer, the AI client."""
