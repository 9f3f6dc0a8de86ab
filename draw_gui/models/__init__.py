"""The models that ship with draw-gui, their cards, and the toolbar that picks one."""
