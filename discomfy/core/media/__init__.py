"""Result files as Discord receives them: images and videos fitted under a guild's upload limit."""
