"""The population register and the profiles' lifecycle (LC-*)."""
