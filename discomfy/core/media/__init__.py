"""Result files as Discord receives them: fitting images under a guild's upload limit."""
