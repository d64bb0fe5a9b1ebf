"""comfyui."""
