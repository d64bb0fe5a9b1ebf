"""Everything that runs a job and knows nothing about Discord (never import ``discord`` here)."""
